"""Bare-socket clients for the shutdown test, so that acknowledgements are under the test's control.

Usage:
  raw_shutdown.py HOST DIRECT_TLS_PORT hold ALICE_PW BOB_PW
      alice enables stream management (resumable) and receives a message from bob without acknowledging
      it; prints READY, then waits until both streams end and prints one JSON line with what each got.
  raw_shutdown.py HOST DIRECT_TLS_PORT offline ALICE_PW
      alice logs in, becomes available and prints one JSON line with the offline message bodies.
"""
import base64
import json
import re
import socket
import ssl
import sys
import time

TIMEOUT = 20
host, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]


class Raw:
    def __init__(self, user, password, resource):
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        self.sock = context.wrap_socket(socket.create_connection((host, port), TIMEOUT), server_hostname="localhost")
        self.sock.settimeout(TIMEOUT)
        self.text = ""
        self.open_stream()
        self.expect("</stream:features>")
        plain = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
        self.send(f"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{plain}</auth>")
        self.expect("<success")
        self.open_stream()
        self.expect("</stream:features>")
        self.send(f"<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>{resource}</resource></bind></iq>")
        self.expect("</iq>")
        self.jid = f"{user}@localhost/{resource}"

    def open_stream(self):
        self.text = ""
        self.send("<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>")

    def send(self, xml):
        self.sock.sendall(xml.encode())

    def expect(self, marker):
        """Reads until MARKER has arrived; returns everything read so far."""
        deadline = time.monotonic() + TIMEOUT
        while marker not in self.text:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {marker} in {self.text!r}")
            data = self.sock.recv(65536)
            if not data:
                raise EOFError(f"closed before {marker}: {self.text!r}")
            self.text += data.decode()
        return self.text

    def until_closed(self):
        """Reads until the server closes the connection; returns everything read."""
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    break
                self.text += data.decode()
        except (ssl.SSLError, OSError):
            pass
        return self.text


def hold(alice_pw, bob_pw):
    alice = Raw("alice", alice_pw, "phone")
    alice.send("<enable xmlns='urn:xmpp:sm:3' resume='true'/>")
    alice.expect("<enabled")
    alice.send("<presence/>")
    alice.expect("<presence")
    bob = Raw("bob", bob_pw, "desk")
    bob.send("<presence/>")
    bob.send(f"<message to='{alice.jid}' type='chat' id='unacked'><body>kept across the shutdown</body></message>")
    alice.expect("kept across the shutdown")
    print("READY", flush=True)
    result = {}
    for name, client in (("alice", alice), ("bob", bob)):
        text = client.until_closed()
        result[name] = {"system_shutdown": "<system-shutdown" in text, "stream_closed": "</stream:stream>" in text}
    print(json.dumps(result), flush=True)


def offline(alice_pw):
    alice = Raw("alice", alice_pw, "laptop")
    alice.send("<presence/>")
    text = alice.expect("kept across the shutdown")
    print(json.dumps({"bodies": re.findall(r"<body>([^<]*)</body>", text)}), flush=True)


if mode == "hold":
    hold(sys.argv[4], sys.argv[5])
else:
    offline(sys.argv[4])
