"""Clients for the resumption-on-the-group-peer test, so that acknowledgements are under the test's control.

Usage: raw_resume.py HOST DIRECT_TLS_PORT_A DIRECT_TLS_PORT_B MODE
bob signs in on node b, alice on node a; alice becomes available, enables stream management (MODE login:
acknowledgements only; resume and fresh: with resumption), sends bob one message and gets four from him (m1..m4).
She acknowledges the first two, asks for the server's count, and prints KILL once it has answered. When her
connection to node a is gone she resumes on node b with her previd (resume) or signs in there again with the same
resource and becomes available (login, fresh), retrying until node b has taken node a's users over; then bob sends
m5 and alice answers him.
Prints one JSON line: what alice was told in <enabled/> and <resumed/>, the message bodies she got on node b in
order, and what bob got from her.
"""
import json
import re
import sys

from raw_xmpp import Raw, retry, wait_for

host, port_a, port_b, mode = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
SM = "urn:xmpp:sm:3"


bob = Raw(host, port_b, "bob", "bob-secret", "desk")
bob.send("<presence/>")
alice = Raw(host, port_a, "alice", "alice-secret", "phone")
alice.send("<presence/>")
wait_for(alice, r"<presence")
alice.send(f"<enable xmlns='{SM}'/>" if mode == "login" else f"<enable xmlns='{SM}' resume='true'/>")
enabled = wait_for(alice, r"<enabled [^>]*/>").group(0)
previd = re.search(r"id=['\"]([^'\"]+)", enabled)
location = re.search(r"location=['\"]([^'\"]+)", enabled)

alice.send("<message to='bob@localhost/desk' type='chat' id='before'><body>before</body></message>")
wait_for(bob, r"<body>before</body>")
for i in range(1, 5):
    bob.send(f"<message to='alice@localhost/phone' type='chat' id='m{i}'><body>m{i}</body></message>")
wait_for(alice, r"<body>m4</body>")
# m1 and m2 are acknowledged; the server's answer to <r/> comes once node b holds that.
alice.send(f"<a xmlns='{SM}' h='2'/><r xmlns='{SM}'/>")
wait_for(alice, r"<a xmlns=['\"]urn:xmpp:sm:3['\"] h=['\"]1['\"]/>")
print("KILL", flush=True)
alice.until_closed()


def sign_in_again():
    """Resumes (resume) or signs in again (login, fresh) at node b, which sends alice to node a (see-other-host) until
    it has seen node a down."""
    if mode == "resume":
        client = Raw(host, port_b, "alice", "alice-secret", None)
        client.send(f"<resume xmlns='{SM}' previd='{previd.group(1)}' h='2'/>")
        answer = wait_for(client, r"<(resumed|failed)[^>]*>").group(0)
        return (client, answer) if answer.startswith("<resumed") else None
    client = Raw(host, port_b, "alice", "alice-secret", "phone")
    client.send("<presence/>")
    return client, ""


alice, answer = retry(sign_in_again, f"alice's {mode} on node b")

if mode != "resume":
    wait_for(alice, r"<body>m4</body>")
bob.send("<message to='alice@localhost/phone' type='chat' id='m5'><body>m5</body></message>")
wait_for(alice, r"<body>m5</body>")
alice.send("<message to='bob@localhost/desk' type='chat' id='after'><body>back on node b</body></message>")
wait_for(bob, r"<body>back on node b</body>")
# Anything sent twice would have come before m5; a last round trip shows nothing more is on its way.
alice.send(f"<r xmlns='{SM}'/>" if mode == "resume" else "<iq type='get' id='ping'><ping xmlns='urn:xmpp:ping'/></iq>")
wait_for(alice, r"<a xmlns=['\"]urn:xmpp:sm:3['\"] h=|id=['\"]ping['\"]")

print(json.dumps({
    "location": location.group(1) if location else None,
    "previd": previd.group(1) if previd else None,
    "resumed": answer,
    "bodies": re.findall(r"<body>([^<]*)</body>", alice.text),
    "delayed": len(re.findall(r"<delay ", alice.text)),
    "bob_got": re.findall(r"<body>([^<]*)</body>", bob.text),
}), flush=True)
