import { readFileSync } from "node:fs";
import { ImapFlow, type ImapFlowOptions } from "imapflow";
import { describe, expect, it } from "vitest";
import { stack, uniqueName } from "../helpers/stack.js";

// The local Dovecot serves IMAP over implicit TLS and STARTTLS with a certificate signed by the
// CA the stack generated; clients verify it (no rejectUnauthorized: false anywhere).
function client(options: Partial<ImapFlowOptions>): ImapFlow {
  return new ImapFlow({
    host: stack.imap.host,
    port: stack.imap.tlsPort,
    secure: true,
    auth: { user: stack.imap.user, pass: stack.imap.password },
    tls: { ca: readFileSync(stack.imap.caFile), rejectUnauthorized: true },
    logger: false,
    ...options,
  });
}

describe("Dovecot IMAP on the local stack", () => {
  it("logs in over implicit TLS with the certificate verified, appends and fetches a message", async () => {
    const imap = client({});
    await imap.connect();
    try {
      const subject = uniqueName("Daily report");
      const raw = [
        "From: reports@example.test",
        `To: ${stack.imap.user}`,
        `Subject: ${subject}`,
        `Message-ID: <${subject.replaceAll(" ", ".")}@example.test>`,
        "Content-Type: text/plain; charset=utf-8",
        "",
        "42 work orders closed today.",
        "",
      ].join("\r\n");
      const appended = await imap.append("INBOX", raw, ["\\Seen"]);
      expect(appended).toBeTruthy();

      const lock = await imap.getMailboxLock("INBOX");
      try {
        const uids = (await imap.search({ header: { subject } }, { uid: true })) || [];
        expect(uids).toHaveLength(1);
        const message = await imap.fetchOne(String(uids[0]), { envelope: true, source: true }, { uid: true });
        if (!message) throw new Error(`message ${uids[0]} could not be fetched`);
        expect(message.envelope?.subject).toBe(subject);
        expect(message.source?.toString()).toContain("42 work orders closed today.");
      } finally {
        lock.release();
      }
    } finally {
      await imap.logout();
    }
  });

  it("logs in over STARTTLS", async () => {
    const imap = client({ port: stack.imap.starttlsPort, secure: false, doSTARTTLS: true });
    await imap.connect();
    try {
      // Plain on connect, encrypted once STARTTLS upgraded it (disable_plaintext_auth forbids login before).
      expect(imap.secureConnection).toBe(true);
      const status = await imap.status("INBOX", { messages: true });
      if (!status) throw new Error("STATUS INBOX failed");
      expect(status.messages).toBeGreaterThanOrEqual(0);
    } finally {
      await imap.logout();
    }
  });

  it("refuses the server when the certificate is not checked against the stack's CA", async () => {
    const imap = client({ tls: { rejectUnauthorized: true } });
    await expect(imap.connect()).rejects.toThrow(/certificate/i);
  });

  it("refuses a wrong password", async () => {
    const imap = client({ auth: { user: stack.imap.user, pass: "wrong" } });
    await expect(imap.connect()).rejects.toThrow();
  });
});
