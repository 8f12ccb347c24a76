import { execFileSync } from "node:child_process";
import { chmodSync, writeFileSync } from "node:fs";
import path from "node:path";

export interface TestCertificates {
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A client certificate from a CA the servers do not trust. */
  strangerCert: string;
  strangerKey: string;
}

function openssl(dir: string, args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
}

/** Issues `name`'s key (0600) and certificate signed by `ca` in `dir`. */
function issue(dir: string, ca: string, name: string, subject: string, extensions: string): void {
  openssl(dir, ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subject]);
  writeFileSync(path.join(dir, `${name}.ext`), extensions);
  openssl(dir, ["x509", "-req", "-in", `${name}.csr`, "-CA", `${ca}.pem`, "-CAkey", `${ca}.key`, "-CAcreateserial", "-days", "2", "-out", `${name}.pem`, "-extfile", `${name}.ext`]);
  chmodSync(path.join(dir, `${name}.key`), 0o600);
}

function makeCa(dir: string, name: string): void {
  openssl(dir, ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.pem`, "-days", "2", "-subj", `/CN=${name}`]);
  chmodSync(path.join(dir, `${name}.key`), 0o600);
}

/** A throw-away CA, a server certificate for 127.0.0.1/localhost and client certificates, made with openssl in `dir`. */
export function makeTestCertificates(dir: string): TestCertificates {
  makeCa(dir, "test-ca");
  makeCa(dir, "stranger-ca");
  issue(dir, "test-ca", "server", "/CN=watchmesh-test-server", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
  issue(dir, "test-ca", "client", "/CN=FRA border system", "extendedKeyUsage=clientAuth\n");
  issue(dir, "stranger-ca", "stranger", "/CN=someone else", "extendedKeyUsage=clientAuth\n");
  const file = (name: string) => path.join(dir, name);
  return {
    caCert: file("test-ca.pem"),
    serverCert: file("server.pem"),
    serverKey: file("server.key"),
    clientCert: file("client.pem"),
    clientKey: file("client.key"),
    strangerCert: file("stranger.pem"),
    strangerKey: file("stranger.key"),
  };
}
