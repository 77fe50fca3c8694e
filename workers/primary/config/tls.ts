import type { X509Certificate } from "node:crypto";
import { resolve } from "node:path";

/** The TLS files the workers serve with, as absolute paths (workers read them themselves). */
export interface TlsFiles {
  certFile: string;
  keyFile: string;
}

/** What TLS resolution needs: the given paths and how to read a file. */
export interface TlsInput {
  certFile: string | undefined;
  keyFile: string | undefined;
  cwd: string;
  readFile: (path: string) => string;
}

/**
 * Checks TLS_CERT_FILE and TLS_KEY_FILE in the primary, so a bad pair is exit 2 naming the
 * setting, not a boot failure in every worker: both or neither, readable, PEM that node:crypto
 * parses, and a key that belongs to the certificate. Returns the files, null for plain HTTP, or
 * the problem in words.
 */
export function resolveTls(input: TlsInput): TlsFiles | null | string {
  const { certFile, keyFile } = input;
  if (certFile === undefined && keyFile === undefined) return null;
  if (certFile === undefined) return "TLS_KEY_FILE is set but TLS_CERT_FILE is not: give both";
  if (keyFile === undefined) return "TLS_CERT_FILE is set but TLS_KEY_FILE is not: give both";
  const cert = read("TLS_CERT_FILE", certFile, input);
  if (typeof cert !== "object") return cert;
  const key = read("TLS_KEY_FILE", keyFile, input);
  if (typeof key !== "object") return key;
  // Loaded only when TLS is configured: node:crypto costs the primary ~6.5 MB of RSS.
  const { createPrivateKey, X509Certificate } =
    require("node:crypto") as typeof import("node:crypto");
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert.text);
  } catch {
    return `TLS_CERT_FILE: ${certFile} is not a PEM certificate`;
  }
  let privateKey: ReturnType<typeof createPrivateKey>;
  try {
    if (!key.text.includes("PRIVATE KEY-----")) throw new Error("no PEM private key");
    privateKey = createPrivateKey(key.text);
  } catch {
    return `TLS_KEY_FILE: ${keyFile} is not a PEM private key (unencrypted)`;
  }
  if (!x509.checkPrivateKey(privateKey)) {
    return `TLS_KEY_FILE: ${keyFile} is not the key of the certificate in TLS_CERT_FILE`;
  }
  return { certFile: cert.path, keyFile: key.path };
}

function read(
  env: string,
  given: string,
  input: TlsInput,
): { path: string; text: string } | string {
  const path = resolve(input.cwd, given);
  try {
    return { path, text: input.readFile(path) };
  } catch (error) {
    const code = (error as { code?: string }).code ?? (error as Error).message;
    return `${env}: cannot read ${given} (${code})`;
  }
}
