import datetime as dt

from kiosk.api import contract as c


def test_identify_and_session(client, personas):
    p = personas[0]
    doc = p["documents"][0]
    who = client.identify(
        c.DocumentType(doc["type"]), doc["number"], dt.date.fromisoformat(p["date_of_birth"])
    )
    assert who.masked_name_zh.startswith(p["name_zh"][0])
    assert "*" in who.masked_name_zh
    sess = client.start_session(who.subject_token, c.Purpose.CERTIFICATION)
    assert sess.next_modality == c.Modality.FACE
    assert sess.attempts_left.face == 3
