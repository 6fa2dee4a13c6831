// The public half of an OpenSSH private key, read from the key itself: the "openssh-key-v1"
// format stores the public key unencrypted before the (possibly encrypted) private part.
// Lab hosts authorise the stack's own key, so the lab needs no second key file to stay in sync.

export function publicKeyOf(privateKey: string, comment = "gitlab-ha-lab"): string {
  const m = /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]*?)-----END OPENSSH PRIVATE KEY-----/.exec(privateKey);
  if (!m) throw new Error("expected an OpenSSH private key (ssh-keygen's default format)");
  const buf = Buffer.from(m[1]!.replace(/\s+/g, ""), "base64");
  const magic = Buffer.from("openssh-key-v1\0");
  if (!buf.subarray(0, magic.length).equals(magic)) throw new Error("not an openssh-key-v1 key");
  let off = magic.length;
  const readString = (): Buffer => {
    const len = buf.readUInt32BE(off);
    const s = buf.subarray(off + 4, off + 4 + len);
    off += 4 + len;
    return s;
  };
  readString(); // cipher name
  readString(); // kdf name
  readString(); // kdf options
  const keys = buf.readUInt32BE(off);
  off += 4;
  if (keys !== 1) throw new Error(`expected one key in the file, found ${keys}`);
  const blob = readString();
  const type = blob.subarray(4, 4 + blob.readUInt32BE(0)).toString();
  return `${type} ${blob.toString("base64")} ${comment}`;
}
