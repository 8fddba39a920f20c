#!/bin/sh
# Starts Dovecot for the compose stack. Runs under the image's tini entrypoint.
#  - writes the passwd-file from IMAP_USERNAME / IMAP_PASSWORD (hashed, never stored in git);
#  - creates a self-signed certificate for "imap" and "localhost" once, in the imap-tls volume.
set -eu

: "${IMAP_USERNAME:?set IMAP_USERNAME in .env}"
: "${IMAP_PASSWORD:?set IMAP_PASSWORD in .env}"

tls_dir=/etc/dovecot/tls
mkdir -p "$tls_dir"
if [ ! -s "$tls_dir/cert.pem" ] || [ ! -s "$tls_dir/key.pem" ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 \
    -subj "/CN=imap" \
    -addext "subjectAltName=DNS:imap,DNS:localhost,IP:127.0.0.1" \
    -keyout "$tls_dir/key.pem" -out "$tls_dir/cert.pem"
fi
chmod 0644 "$tls_dir/cert.pem"
chmod 0600 "$tls_dir/key.pem"

umask 027
printf '%s:%s\n' "$IMAP_USERNAME" "$(doveadm pw -s SHA512-CRYPT -p "$IMAP_PASSWORD")" > /etc/dovecot/users
# Readable by the auth process (user dovecot); fall back to world-readable hashes if the group is absent.
chown root:dovecot /etc/dovecot/users 2>/dev/null || chmod 0644 /etc/dovecot/users

# The mailbox lives in the imap-mail volume, owned by the image's vmail user (uid 1000).
chown 1000:1000 /srv/mail

exec /usr/sbin/dovecot -F
