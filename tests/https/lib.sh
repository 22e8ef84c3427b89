# lib.sh: a test CA, certificates and nginx over TLS on 127.0.0.1, for the
# sync tests and the sync benchmark. Source it after tests/integration/lib.sh
# (or on its own: it needs only a shell, openssl, nginx and python3).
#
#   https_free_port              prints a free TCP port on 127.0.0.1
#   https_pki DIR                CA, a second CA, and server certificates in
#                                DIR: good (localhost, 127.0.0.1), wrong
#                                (wrong.example only), expired, other (by
#                                the second CA)
#   https_nginx_start DIR CONF   starts nginx with the http{} body in CONF
#                                under prefix DIR; its pid in DIR/nginx.pid
#   https_stop PIDFILE           stops the process by its pid, waits for it

https_free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

_https_cert() { # DIR NAME CA SAN DAYS
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$1/$2.key" -out "$1/$2.csr" -subj "/CN=$2" 2>/dev/null &&
	printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' \
	    "$4" >"$1/$2.ext" &&
	openssl x509 -req -in "$1/$2.csr" -CA "$1/$3.pem" -CAkey "$1/$3.key" \
	    -CAcreateserial -out "$1/$2.pem" -days "$5" -extfile "$1/$2.ext" \
	    2>/dev/null
}

_https_ca() { # DIR NAME
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$1/$2.key" -out "$1/$2.pem" -days 2 -subj "/CN=nhi test $2" \
	    -addext "basicConstraints=critical,CA:TRUE" \
	    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}

https_pki() {
	mkdir -p "$1" &&
	_https_ca "$1" ca && _https_ca "$1" otherca &&
	_https_cert "$1" good ca "DNS:localhost,IP:127.0.0.1" 2 &&
	_https_cert "$1" wrong ca "DNS:wrong.example" 2 &&
	_https_cert "$1" expired ca "DNS:localhost,IP:127.0.0.1" 0 &&
	_https_cert "$1" other otherca "DNS:localhost,IP:127.0.0.1" 2 &&
	chmod 644 "$1"/*.key
}

https_nginx_start() {
	mkdir -p "$1/tmp" "$1/logs"
	cat >"$1/nginx.conf" <<NGINX
worker_processes 1;
pid $1/nginx.pid;
error_log $1/logs/error.log notice;
events { worker_connections 256; }
http {
    access_log $1/logs/access.log;
    client_body_temp_path $1/tmp/body;  proxy_temp_path $1/tmp/proxy;
    fastcgi_temp_path $1/tmp/fastcgi;   uwsgi_temp_path $1/tmp/uwsgi;
    scgi_temp_path $1/tmp/scgi;
    types { application/json json; text/html html; }
    ssl_protocols TLSv1.2 TLSv1.3;
    etag on;
$(cat "$2")
}
NGINX
	nginx -t -q -e "$1/logs/error.log" -p "$1" -c "$1/nginx.conf" || return 1
	nginx -e "$1/logs/error.log" -p "$1" -c "$1/nginx.conf" \
	    -g 'daemon off;' </dev/null >/dev/null 2>&1 &
	_i=0
	while [ ! -s "$1/nginx.pid" ] && [ $_i -lt 50 ]; do
		sleep 0.1; _i=$((_i + 1))
	done
	[ -s "$1/nginx.pid" ]
}

https_stop() {
	[ -s "$1" ] || return 0
	_pid=$(cat "$1")
	kill "$_pid" 2>/dev/null
	_i=0
	while kill -0 "$_pid" 2>/dev/null && [ $_i -lt 50 ]; do
		sleep 0.1; _i=$((_i + 1))
	done
	kill -9 "$_pid" 2>/dev/null
	rm -f "$1"
	return 0
}
