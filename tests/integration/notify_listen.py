"""A stand-in for systemd's notification socket (sd_notify(3)).

usage: notify_listen.py SOCKET PORT OUT

Binds a unix datagram socket at SOCKET ("@name": abstract namespace) and
appends each datagram received to OUT as one line, newlines shown as "|".
When a datagram holds READY=1 it checks at once whether 127.0.0.1:PORT
accepts TCP connections and appends "port_open=1" or "port_open=0", so the
test can tell that readiness came after the daemon was listening. Exits
after a datagram with STOPPING=1, or after 60 s.
"""
import socket
import sys
import time


def port_open(port):
    s = socket.socket()
    s.settimeout(1)
    try:
        s.connect(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def main():
    path, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + path[1:] if path.startswith("@") else path)
    sock.settimeout(1)
    with open(out, "a") as f:
        f.write("bound\n")
        f.flush()
        end = time.monotonic() + 60
        while time.monotonic() < end:
            try:
                data = sock.recv(4096).decode("utf-8", "replace")
            except socket.timeout:
                continue
            line = data.replace("\n", "|")
            if "READY=1" in data.split("\n") and port:
                line += " port_open=%d" % port_open(port)
            f.write(line + "\n")
            f.flush()
            if "STOPPING=1" in data.split("\n"):
                return


main()
