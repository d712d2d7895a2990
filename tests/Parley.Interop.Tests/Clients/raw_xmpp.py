"""A bare-socket XMPP client over direct TLS, for tests that must control every byte (acknowledgements, timing)."""
import base64
import re
import socket
import ssl
import time

TIMEOUT = 20


class Raw:
    def __init__(self, host, port, user, password, resource):
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
        if resource is None:
            # Authenticated only: the caller resumes a stream (XEP-0198) instead of binding.
            return
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

    def read_some(self, wait):
        """Reads what arrives within WAIT seconds; False once the connection is gone."""
        self.sock.settimeout(wait)
        try:
            data = self.sock.recv(65536)
        except (TimeoutError, socket.timeout, ssl.SSLWantReadError):
            return True
        except (ssl.SSLError, OSError):
            return False
        finally:
            self.sock.settimeout(TIMEOUT)
        if not data:
            return False
        self.text += data.decode(errors="replace")
        return True

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


def wait_for(client, pattern, seconds=60):
    """Reads until PATTERN matches what CLIENT got; returns the match."""
    deadline = time.monotonic() + seconds
    while not (found := re.search(pattern, client.text)):
        if time.monotonic() > deadline or not client.read_some(1):
            raise TimeoutError(f"no {pattern} in {client.text!r}")
    return found


def tags(text, name, **attributes):
    """The start tags NAME in TEXT whose attributes have the given values."""
    found = []
    for tag in re.findall(rf"<{name}\b[^>]*>", text):
        if all(re.search(rf"\b{key}=['\"]{re.escape(value)}['\"]", tag) for key, value in attributes.items()):
            found.append(tag)
    return found


def wait_for_tag(client, name, since=0, seconds=60, **attributes):
    """Reads until CLIENT got a start tag NAME with the given attributes after its first SINCE characters; returns it."""
    deadline = time.monotonic() + seconds
    while not (found := tags(client.text[since:], name, **attributes)):
        if time.monotonic() > deadline or not client.read_some(1):
            raise TimeoutError(f"no <{name} {attributes}> in {client.text[since:]!r}")
    return found[0]


def retry(attempt, what, seconds=60):
    """Calls ATTEMPT until it returns something other than None (a node may still send the client away, or close
    its connection, until it has taken over a dead node's users); returns that, or fails after SECONDS."""
    tries = 0
    deadline = time.monotonic() + seconds
    while True:
        tries += 1
        try:
            if (result := attempt()) is not None:
                return result
        except (EOFError, TimeoutError, OSError) as error:
            last = error
        else:
            last = None
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not succeed in {tries} tries: {last!r}")
        time.sleep(0.1)
