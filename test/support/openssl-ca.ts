import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export interface OpensslCa {
  /** Runs openssl in the CA's directory. */
  openssl(...args: string[]): Buffer;
  /** Writes `<name>.key` and `<name>.crt`, signed by the CA, with these x509v3 extension lines. */
  issue(name: string, subject: string, extensions: string): void;
}

/** Makes a CA (`ca.key`, `ca.crt`, EC P-256) with openssl in `dir`, valid for `days`. */
export function makeOpensslCa(dir: string, subject: string, days: number): OpensslCa {
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const validity = ['-days', String(days)];
  openssl('req', '-x509', ...EC_KEY, '-keyout', 'ca.key', '-out', 'ca.crt', ...validity, '-subj', subject);
  return {
    openssl,
    issue(name, subject, extensions) {
      writeFileSync(join(dir, `${name}.ext`), `basicConstraints=CA:FALSE\n${extensions}\n`);
      openssl('req', ...EC_KEY, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject);
      const signing = ['-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', ...validity];
      openssl(
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        ...signing,
        '-out',
        `${name}.crt`,
        '-extfile',
        `${name}.ext`,
      );
    },
  };
}
