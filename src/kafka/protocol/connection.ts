/**
 * One TCP connection to one broker: requests framed with a size and a header (v1: api key,
 * version, correlation id, client id), responses matched to them by correlation id (header v0).
 * Any socket failure or timeout fails every pending request with a KafkaConnectionError and
 * closes the connection; the owner opens a new one.
 */
import { createConnection, type Socket } from "node:net";
import type { Api } from "./apis.js";
import { KafkaConnectionError } from "./errors.js";
import { ProtocolReader, ProtocolWriter } from "./primitives.js";

export interface ConnectionOptions {
  readonly host: string;
  readonly port: number;
  readonly clientId: string;
  readonly connectTimeoutMs: number;
  readonly requestTimeoutMs: number;
}

interface Pending {
  readonly resolve: (response: ProtocolReader) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

export class BrokerConnection {
  readonly address: string;
  readonly #socket: Socket;
  readonly #options: ConnectionOptions;
  readonly #pending = new Map<number, Pending>();
  #correlationId = 0;
  #received: Buffer[] = [];
  #receivedBytes = 0;
  #closed: Error | undefined;

  private constructor(socket: Socket, options: ConnectionOptions) {
    this.address = `${options.host}:${options.port}`;
    this.#socket = socket;
    this.#options = options;
    socket.on("data", (chunk: Buffer) => this.#onData(chunk));
    socket.on("error", (error) =>
      this.#fail(new KafkaConnectionError(`Kafka broker ${this.address}: ${error.message}`, error)),
    );
    socket.on("close", () =>
      this.#fail(new KafkaConnectionError(`Kafka broker ${this.address} closed the connection`)),
    );
  }

  static connect(options: ConnectionOptions): Promise<BrokerConnection> {
    const address = `${options.host}:${options.port}`;
    return new Promise((resolve, reject) => {
      const socket = createConnection({ host: options.host, port: options.port });
      socket.setNoDelay(true);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(
          new KafkaConnectionError(
            `Kafka broker ${address} did not accept a connection within ${options.connectTimeoutMs} ms`,
          ),
        );
      }, options.connectTimeoutMs);
      socket.once("connect", () => {
        clearTimeout(timer);
        socket.removeAllListeners("error");
        resolve(new BrokerConnection(socket, options));
      });
      socket.once("error", (error) => {
        clearTimeout(timer);
        reject(
          new KafkaConnectionError(`cannot connect to Kafka broker ${address}: ${error.message}`, error),
        );
      });
    });
  }

  get isOpen(): boolean {
    return this.#closed === undefined;
  }

  /** Sends one request and resolves with its decoded response. */
  async call<Request, Response>(
    api: Api<Request, Response>,
    request: Request,
    bodyBytesHint = 256,
  ): Promise<Response> {
    const reader = await this.#request(api, (writer) => api.write(writer, request), bodyBytesHint);
    return api.read(reader);
  }

  #request(
    api: Api<unknown, unknown>,
    writeBody: (writer: ProtocolWriter) => void,
    bodyBytesHint: number,
  ): Promise<ProtocolReader> {
    if (this.#closed) return Promise.reject(this.#closed);
    this.#correlationId = (this.#correlationId + 1) | 0;
    const correlationId = this.#correlationId;
    const writer = new ProtocolWriter(bodyBytesHint + 64);
    writer.int32(0); // size, patched below
    writer.int16(api.key).int16(api.version).int32(correlationId).nullableString(this.#options.clientId);
    writeBody(writer);
    writer.patchInt32(0, writer.length - 4);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#fail(
          new KafkaConnectionError(
            `Kafka broker ${this.address} did not answer ${api.name} within ${this.#options.requestTimeoutMs} ms`,
          ),
        );
      }, this.#options.requestTimeoutMs);
      this.#pending.set(correlationId, { resolve, reject, timer });
      this.#socket.write(writer.finish());
    });
  }

  close(): void {
    this.#fail(new KafkaConnectionError(`the connection to Kafka broker ${this.address} was closed`));
  }

  #onData(chunk: Buffer): void {
    this.#received.push(chunk);
    this.#receivedBytes += chunk.length;
    while (this.#receivedBytes >= 4) {
      let head = this.#received[0] as Buffer;
      if (head.length < 4) head = this.#joinReceived();
      const size = head.readInt32BE(0);
      if (this.#receivedBytes < 4 + size) return;
      if (head.length < 4 + size) head = this.#joinReceived();
      const frame = head.subarray(4, 4 + size);
      const rest = head.subarray(4 + size);
      this.#received[0] = rest;
      this.#receivedBytes -= 4 + size;
      if (rest.length === 0) this.#received.shift();
      this.#onFrame(frame);
    }
  }

  #joinReceived(): Buffer {
    const joined = Buffer.concat(this.#received, this.#receivedBytes);
    this.#received = [joined];
    return joined;
  }

  #onFrame(frame: Buffer): void {
    const reader = new ProtocolReader(frame);
    const correlationId = reader.int32();
    const pending = this.#pending.get(correlationId);
    if (!pending) return; // the answer to a request that already timed out
    this.#pending.delete(correlationId);
    clearTimeout(pending.timer);
    pending.resolve(reader);
  }

  #fail(error: Error): void {
    if (this.#closed) return;
    this.#closed = error;
    for (const pending of this.#pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(error);
    }
    this.#pending.clear();
    this.#socket.destroy();
  }
}
