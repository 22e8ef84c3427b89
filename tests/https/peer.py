#!/usr/bin/env python3
"""A misbehaving HTTPS peer on 127.0.0.1 for the sync tests.

    peer.py MODE PORT CERT KEY PIDFILE

MODE hang: accepts connections and never says a word (no TLS handshake).
MODE drip: completes TLS, reads the request, then answers a 200 whose
           body arrives one byte every second, forever.
MODE close: completes TLS, then closes the connection without an answer.
"""
import os
import socket
import ssl
import sys
import threading
import time


def drip(conn):
    try:
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
        while True:
            conn.sendall(b"x")
            time.sleep(1)
    except (OSError, ssl.SSLError):
        pass
    finally:
        conn.close()


def main():
    mode, port, cert, key, pidfile = sys.argv[1:6]
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", int(port)))
    srv.listen(16)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    with open(pidfile, "w") as f:
        f.write("%d\n" % os.getpid())
    held = []
    while True:
        conn, _ = srv.accept()
        if mode == "hang":
            held.append(conn)
            continue
        try:
            tls = ctx.wrap_socket(conn, server_side=True)
        except (OSError, ssl.SSLError):
            conn.close()
            continue
        if mode == "close":
            tls.close()
        else:
            threading.Thread(target=drip, args=(tls,), daemon=True).start()


if __name__ == "__main__":
    main()
