// Test certificates made with openssl at test time, in a temp directory: a CA, a broker
// certificate for localhost/127.0.0.1 (its key encrypted, as ssl.key.password expects) bundled
// with its chain into one PEM keystore, and client certificates. No key is ever committed.
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'

export const KEY_PASSWORD = 'broker-key-secret'

export interface TestPki {
  dir: string
  /** CA certificate (PEM): the broker's truststore and the clients' CA. */
  caFile: string
  /** Broker keystore: encrypted private key + certificate + CA certificate. */
  keystoreFile: string
  /** The broker's certificate and key as separate files, for clients that want them. */
  clientCert(name: string, subject: string): { certFile: string; keyFile: string }
  /** Issues a new broker certificate (new serial) into `keystoreFile`, atomically. */
  reissueBroker(): string
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] })
}

export function makePki(dir: string, caName = 'Samsa Test CA'): TestPki {
  openssl(dir, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', `/CN=${caName}`])
  writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n')
  let serial = 1000
  const issue = (name: string, subject: string, ext?: string): { certFile: string; keyFile: string } => {
    openssl(dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject])
    const args = ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-set_serial', String(serial++), '-out', `${name}.pem`, '-days', '2']
    openssl(dir, ext === undefined ? args : [...args, '-extfile', ext])
    return { certFile: path.join(dir, `${name}.pem`), keyFile: path.join(dir, `${name}.key`) }
  }
  const keystoreFile = path.join(dir, 'broker-keystore.pem')
  const reissueBroker = (): string => {
    const { certFile } = issue('broker', '/CN=localhost/O=Samsa', 'san.ext')
    openssl(dir, ['pkcs8', '-topk8', '-in', 'broker.key', '-out', 'broker-enc.key', '-passout', `pass:${KEY_PASSWORD}`, '-v2', 'aes-256-cbc'])
    const pem = [readFileSync(path.join(dir, 'broker-enc.key'), 'utf8'), readFileSync(certFile, 'utf8'), readFileSync(path.join(dir, 'ca.pem'), 'utf8')].join('')
    writeFileSync(`${keystoreFile}.tmp`, pem)
    execFileSync('mv', [`${keystoreFile}.tmp`, keystoreFile])
    return String(serial - 1)
  }
  reissueBroker()
  return { dir, caFile: path.join(dir, 'ca.pem'), keystoreFile, clientCert: issue, reissueBroker }
}

/** The broker configuration of an SSL-capable listener using `pki`. */
export function sslConfig(pki: TestPki, extra: Record<string, string> = {}): Record<string, string> {
  return {
    'ssl.keystore.type': 'PEM',
    'ssl.keystore.location': pki.keystoreFile,
    'ssl.key.password': KEY_PASSWORD,
    'ssl.truststore.type': 'PEM',
    'ssl.truststore.location': pki.caFile,
    ...extra,
  }
}
