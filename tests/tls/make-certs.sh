#!/usr/bin/env bash
# Test certificates for the TLS tests (Rust and Python): a throw-away CA, a server
# certificate for IP 127.0.0.1 only (so "localhost" is a name mismatch), a client
# certificate, and a second CA that signed nothing here. Usage: make-certs.sh DIR
set -euo pipefail
dir=${1:?usage: make-certs.sh DIR}
mkdir -p "$dir"
cd "$dir"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out "$1" 2>/dev/null; }
for ca in ca other-ca; do
    key "$ca.key"
    openssl req -x509 -new -key "$ca.key" -out "$ca.crt" -days 2 -subj "/CN=rediscluster $ca" \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
done
sign() { # name, extensions
    key "$1.key"
    openssl req -new -key "$1.key" -out "$1.csr" -subj "/CN=rediscluster $1"
    printf '%s\n' "$2" basicConstraints=CA:FALSE >"$1.ext"
    openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -out "$1.crt" \
        -days 2 -extfile "$1.ext" 2>/dev/null
}
sign server "subjectAltName=IP:127.0.0.1"$'\n'"extendedKeyUsage=serverAuth"
sign client "extendedKeyUsage=clientAuth"
