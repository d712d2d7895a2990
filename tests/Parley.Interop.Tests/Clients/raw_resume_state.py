"""Clients for the test of what a session resumed on the group peer keeps besides its stanzas.

Usage: raw_resume_state.py HOST DIRECT_TLS_PORT_A DIRECT_TLS_PORT_B KEPT_ROOM MOVED_ROOM
KEPT_ROOM runs on node b, MOVED_ROOM on node a. bob signs in on node b and joins KEPT_ROOM; alice signs in on node a,
enables stream management with resumption, joins both rooms, sends bob directed presence (they share no
subscription), asks for her roster and block list, turns carbons on and tells the server she is inactive (XEP-0352);
she prints KILL once node b holds all that. When her connection is gone she resumes on node b. bob then sends her
three presence updates and a message, and says something in KEPT_ROOM; alice pings herself in both rooms (XEP-0410)
and joins MOVED_ROOM again; her tablet, signed in on node b, adds a contact, blocks someone and sends bob a message;
then she closes her stream.
Prints one JSON line: the statuses alice got before bob's message, the bodies she read after resuming, the self-pings'
answers, whether her join of MOVED_ROOM was answered, the roster and block pushes and the carbon she got from the
tablet, and what bob saw of her leaving the room before she closed.
"""
import json
import re
import sys

from raw_xmpp import Raw, retry, tags, wait_for, wait_for_tag

host, port_a, port_b, kept_room, moved_room = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
SM = "urn:xmpp:sm:3"
Q = "['\"]"


def iq_answer(client, iq_id):
    """The type of the answer to IQ IQ_ID, and its error condition if it is an error."""
    answer = wait_for(client, rf"<iq\b[^>]*\bid={Q}{iq_id}{Q}[^>]*(/>|>.*?</iq>)").group(0)
    kind = re.search(rf"type={Q}(\w+){Q}", answer).group(1)
    condition = re.search(r"<([a-z-]+) xmlns=['\"]urn:ietf:params:xml:ns:xmpp-stanzas['\"]", answer)
    return f"{kind} {condition.group(1)}" if condition else kind


bob = Raw(host, port_b, "bob", "bob-secret", "desk")
bob.send("<presence/>")
bob.send(f"<presence to='{kept_room}/bob'/>")
wait_for_tag(bob, "presence", **{"from": f"{kept_room}/bob"})

alice = Raw(host, port_a, "alice", "alice-secret", "phone")
alice.send("<presence/>")
alice.send(f"<enable xmlns='{SM}' resume='true'/>")
enabled = wait_for(alice, r"<enabled [^>]*/>").group(0)
previd = re.search(rf"id={Q}([^'\"]+)", enabled).group(1)
alice.send(f"<presence to='{kept_room}/alice'/><presence to='{moved_room}/alice'/>")
wait_for_tag(alice, "presence", **{"from": f"{kept_room}/alice"})
wait_for_tag(alice, "presence", **{"from": f"{moved_room}/alice"})
alice.send("<presence to='bob@localhost/desk'><status>directed</status></presence>")
wait_for(bob, r"<status>directed</status>")
alice.send("<iq type='get' id='roster'><query xmlns='jabber:iq:roster'/></iq>"
           "<iq type='get' id='blocklist'><blocklist xmlns='urn:xmpp:blocking'/></iq>"
           "<iq type='set' id='carbons'><enable xmlns='urn:xmpp:carbons:2'/></iq>")
for iq_id in ["roster", "blocklist", "carbons"]:
    iq_answer(alice, iq_id)
alice.send("<inactive xmlns='urn:xmpp:csi:0'/>")
# The server's answer to <r/> comes once node b holds everything before it.
alice.send(f"<r xmlns='{SM}'/>")
wait_for(alice, rf"<a xmlns={Q}{SM}{Q} h=")
print("KILL", flush=True)
alice.until_closed()


def resume():
    client = Raw(host, port_b, "alice", "alice-secret", None)
    # h=0: what she got before is sent again; what counts comes after the answer to the <r/> below.
    client.send(f"<resume xmlns='{SM}' previd='{previd}' h='0'/>")
    return client if wait_for(client, r"<(resumed|failed)[^>]*>").group(0).startswith("<resumed") else None


alice = retry(resume, "alice's resumption on node b")
alice.send(f"<r xmlns='{SM}'/>")
wait_for(alice, rf"<a xmlns={Q}{SM}{Q} h=")
alice.text = ""

for status in ["s1", "s2", "s3"]:
    bob.send(f"<presence to='alice@localhost/phone'><status>{status}</status></presence>")
bob.send("<message to='alice@localhost/phone' type='chat' id='after'><body>after the move</body></message>")
wait_for(alice, r"<body>after the move</body>")
statuses = re.findall(r"<status>(s\d)</status>", alice.text.split("after the move")[0])

bob.send(f"<message to='{kept_room}' type='groupchat' id='g1'><body>still here?</body></message>")
wait_for(alice, r"<body>still here\?</body>")
alice.send(f"<message to='{kept_room}' type='groupchat' id='g2'><body>yes</body></message>")
wait_for(bob, r"<body>yes</body>")

alice.send(f"<iq to='{kept_room}/alice' type='get' id='ping-kept'><ping xmlns='urn:xmpp:ping'/></iq>")
ping_kept = iq_answer(alice, "ping-kept")
alice.send(f"<iq to='{moved_room}/alice' type='get' id='ping-moved'><ping xmlns='urn:xmpp:ping'/></iq>")
ping_moved = iq_answer(alice, "ping-moved")
alice.send(f"<presence to='{moved_room}/alice'/>")
wait_for_tag(alice, "presence", **{"from": f"{moved_room}/alice"})
rejoined = re.search(rf"<status code={Q}110{Q}", alice.text) is not None

bodies = re.findall(r"<body>([^<]*)</body>", alice.text)

# Her other device, signed in on node b now: what it changes and sends reaches the resumed session as before.
tablet = Raw(host, port_b, "alice", "alice-secret", "tablet")
tablet.send("<iq type='set' id='add'><query xmlns='jabber:iq:roster'><item jid='carol@localhost'/></query></iq>"
            "<iq type='set' id='block'><block xmlns='urn:xmpp:blocking'><item jid='mallory@localhost'/></block></iq>"
            "<message to='bob@localhost/desk' type='chat' id='t1'><body>from the tablet</body></message>")
roster_push = wait_for(alice, rf"<item [^>]*jid={Q}(carol@localhost){Q}").group(1)
block_push = wait_for(alice, rf"<block xmlns={Q}urn:xmpp:blocking{Q}><item jid={Q}([^'\"]+){Q}").group(1)
carbon = wait_for(alice, r"<sent xmlns=['\"]urn:xmpp:carbons:2['\"]>.*?<body>([^<]*)</body>").group(1)

left_before = tags(bob.text, "presence", **{"from": f"{kept_room}/alice", "type": "unavailable"})
alice.send("</stream:stream>")
alice.until_closed()
wait_for_tag(bob, "presence", **{"from": "alice@localhost/phone", "type": "unavailable"})
wait_for_tag(bob, "presence", **{"from": f"{kept_room}/alice", "type": "unavailable"})

print(json.dumps({
    "statuses": statuses,
    "bodies": bodies,
    "roster_push": roster_push,
    "block_push": block_push,
    "carbon": carbon,
    "ping_kept": ping_kept,
    "ping_moved": ping_moved,
    "rejoined": rejoined,
    "bob_saw_alice_leave_the_room_before_she_closed": len(left_before),
}), flush=True)
