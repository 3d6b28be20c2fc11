import { join } from 'node:path';
import { makeOpensslCa } from '../../support/openssl-ca.js';

/**
 * The files of a cluster's PKI, as envtest makes them: one CA, the API server's certificate, an admin client,
 * a service-account key pair.
 */
export interface ClusterPki {
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  /** A client certificate in group system:masters. */
  adminCert: string;
  adminKey: string;
  serviceAccountKey: string;
  serviceAccountPub: string;
}

/** Makes the PKI with openssl in `dir`. */
export function makeClusterPki(dir: string): ClusterPki {
  const { openssl, issue: signed } = makeOpensslCa(dir, '/CN=keptn-gitops-real-ca', 2);
  const issue = (name: string, subject: string, extensions: string) =>
    signed(name, subject, `keyUsage=critical,digitalSignature,keyEncipherment\n${extensions}`);
  const serverNames = [
    'IP:127.0.0.1',
    'IP:10.0.0.1',
    'DNS:localhost',
    'DNS:kubernetes',
    'DNS:kubernetes.default',
    'DNS:kubernetes.default.svc',
  ];
  issue(
    'apiserver',
    '/CN=kube-apiserver',
    `subjectAltName=${serverNames.join(',')}\nextendedKeyUsage=serverAuth`,
  );
  issue('admin', '/O=system:masters/CN=keptn-gitops-real-admin', 'extendedKeyUsage=clientAuth');
  openssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'sa.key');
  openssl('pkey', '-in', 'sa.key', '-pubout', '-out', 'sa.pub');
  const file = (name: string) => join(dir, name);
  return {
    caCert: file('ca.crt'),
    caKey: file('ca.key'),
    serverCert: file('apiserver.crt'),
    serverKey: file('apiserver.key'),
    adminCert: file('admin.crt'),
    adminKey: file('admin.key'),
    serviceAccountKey: file('sa.key'),
    serviceAccountPub: file('sa.pub'),
  };
}
