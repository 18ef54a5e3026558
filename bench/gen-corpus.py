#!/usr/bin/env python3
"""Writes a deterministic benchmark mbox: a mix of what a municipality
receives (Japanese plain text in ISO-2022-JP and UTF-8, HTML newsletters,
mail with PDF/xlsx attachments, a few large ones).

    python3 bench/gen-corpus.py OUT.mbox [COUNT]
"""
import base64
import email.generator
import email.message
import email.policy
import io
import random
import sys

out = sys.argv[1]
count = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
rnd = random.Random(20261122)
JP = "本日の会議資料を送付いたします。ご確認のほどよろしくお願いいたします。見積書は添付のとおりです。"


def body(n):
    return "\n".join(JP[: rnd.randint(20, len(JP))] for _ in range(n)) + "\n"


def make(i):
    m = email.message.EmailMessage(policy=email.policy.SMTP)
    m["From"] = "山田 太郎 <taro%d@example.jp>" % i
    m["To"] = "soumu@city.example.lg.jp"
    m["Subject"] = "【会議資料】第%d回 打ち合わせ" % i
    m["Message-ID"] = "<bench-%d@example.jp>" % i
    kind = i % 10
    if kind < 4:
        m.set_content(body(30), charset="iso-2022-jp" if kind % 2 else "utf-8")
    elif kind < 7:
        m.set_content(body(10))
        html = "<html><body>" + "".join(
            "<p>%s <a href='https://example.jp/%d'>詳細</a></p>" % (JP, k) for k in range(40)) + "</body></html>"
        m.add_alternative(html, subtype="html")
    else:
        m.set_content(body(10))
        size = 2_000_000 if kind == 9 and i % 50 == 9 else 150_000
        data = bytes(rnd.getrandbits(8) for _ in range(size))
        m.add_attachment(data, maintype="application", subtype="pdf", filename="見積書%d.pdf" % i)
    return m


with open(out, "wb") as f:
    for i in range(count):
        buf = io.BytesIO()
        email.generator.BytesGenerator(buf, mangle_from_=True, policy=email.policy.SMTP.clone(linesep="\n")).flatten(make(i))
        f.write(b"From bench@example.jp Sun Nov 22 00:00:00 2026\n")
        f.write(buf.getvalue().rstrip(b"\n") + b"\n\n")
