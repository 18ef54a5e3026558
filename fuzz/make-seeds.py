#!/usr/bin/env python3
"""Builds the seed corpora of the fuzz targets (see README.md).

    python3 fuzz/make-seeds.py OUTDIR

writes OUTDIR/{sanitize,header,charset,html,record}/, one file per seed, named by
the SHA-1 of its content.  Sources, read only: the sample mailboxes in
testdata/ (mboxes split into messages, maildir files) and the shared
public corpus (/work/shared/corpus/public, or $MUGAI_PUBLIC_CORPUS).
Nothing is written into the source tree.
"""
import email
import email.policy
import hashlib
import mailbox
import os
import sys

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PUBLIC = os.environ.get('MUGAI_PUBLIC_CORPUS', '/work/shared/corpus/public')
MAX_MESSAGE = 256 * 1024   # = -max_len of the sanitize run
MAX_HEADER = 8 * 1024
MAX_PART = 64 * 1024

# index of the declared charset in fuzz-charset.c's table
CHARSETS = {None: 0, 'iso-2022-jp': 1, 'shift_jis': 2, 'euc-jp': 3, 'utf-8': 4,
            'us-ascii': 5, 'utf-16': 6}
ALIASES = {'cp932': 'shift_jis', 'sjis': 'shift_jis', 'x-sjis': 'shift_jis',
           'windows-31j': 'shift_jis', 'shift-jis': 'shift_jis', 'x-euc-jp': 'euc-jp',
           'iso-2022-jp-1': 'iso-2022-jp', 'iso-2022-jp-2': 'iso-2022-jp'}
CHARSET_TEXTS = []  # [charset-text] files of the public corpus
SKIP_KINDS = ('[expected-output]', '[license-notice]', '[description]')


def save(outdir, data):
    if not data:
        return
    name = hashlib.sha1(data).hexdigest()
    with open(os.path.join(outdir, name), 'wb') as f:
        f.write(data)


def messages():
    """Raw octets of every message of the two sources."""
    for name in sorted(os.listdir(os.path.join(SRC, 'testdata', 'mbox'))):
        box = mailbox.mbox(os.path.join(SRC, 'testdata', 'mbox', name), create=False)
        for key in box.keys():
            yield box.get_bytes(key)
    for sub in ('cur', 'new'):
        d = os.path.join(SRC, 'testdata', 'maildir', sub)
        for name in sorted(os.listdir(d)):
            with open(os.path.join(d, name), 'rb') as f:
                yield f.read()
    skip = set()
    kinds = {}
    manifest = os.path.join(PUBLIC, 'MANIFEST.tsv')
    if os.path.exists(manifest):
        with open(manifest, encoding='utf-8', errors='replace') as f:
            next(f)
            for line in f:
                cols = line.rstrip('\n').split('\t')
                if len(cols) >= 6:
                    kinds[cols[0]] = cols[5]
                    if cols[5].startswith(SKIP_KINDS):
                        skip.add(cols[0])
    for root, _, files in os.walk(PUBLIC):
        for name in sorted(files):
            path = os.path.join(root, name)
            rel = os.path.relpath(path, PUBLIC)
            if rel in skip or rel == 'MANIFEST.tsv' or rel.endswith('.md'):
                continue
            with open(path, 'rb') as f:
                data = f.read()
            if kinds.get(rel, '').startswith('[charset-text]'):
                CHARSET_TEXTS.append(data[:MAX_PART])
                continue
            if kinds.get(rel, '').startswith('[mbox]'):
                box = mailbox.mbox(path, create=False)
                try:
                    for key in box.keys():
                        yield box.get_bytes(key)
                except Exception:
                    pass
                continue
            yield data


# fuzz-record: a report as the worker sends it, and store records as the
# files backend keeps them (with and without state and sha256).
_REPORT = ('{"mugai_version":"0.1.0","verdict":"sanitized","status":"sanitized; removed=1; converted=0",'
           '"message_id":"m@example.jp","subject":"お見積り","output_charset":"utf-8","virus":null,'
           '"removed":1,"converted":0,"reasons":[{"category":"archive","path":"2","detail":"zip"}],'
           '"parts":[{"path":"2","kind":"attachment","declared_type":"application/zip",'
           '"filename":"a.zip","size":9,"sha256":"ff","action":"remove","reason":"archive",'
           '"entries_total":1,"entries":[{"name":"x.exe","size":-1,"type":null,"danger":"program",'
           '"encrypted":false}]}],"omitted_parts":0,"omitted_reasons":0,"summary":"s"}')
RECORDS = [
    _REPORT,
    '{"format":1,"id":"20261122T004644Z-0123456789ab","time":1795308404,"size":3,'
    '"verdict":"sanitized","recipients":["a@city.lg.jp"],"report":' + _REPORT + '}',
    '{"format":1,"id":"20261122T004644Z-0123456789ab","time":1795308404,"state":"held",'
    '"sha256":"' + '0' * 64 + '","size":3,"verdict":"hold","report":null}',
]


def main():
    out = sys.argv[1]
    dirs = {t: os.path.join(out, t) for t in ('sanitize', 'header', 'charset', 'html', 'record')}
    for d in dirs.values():
        os.makedirs(d, exist_ok=True)
    for raw in messages():
        if len(raw) <= MAX_MESSAGE:
            save(dirs['sanitize'], raw)
        try:
            msg = email.message_from_bytes(raw, policy=email.policy.compat32)
            parts = list(msg.walk())
        except Exception:
            continue
        for part in parts:
            for _, value in part._headers:
                v = value.encode('utf-8', 'surrogateescape') if isinstance(value, str) else bytes(value)
                if len(v) <= MAX_HEADER:
                    save(dirs['header'], v)
            if part.is_multipart():
                continue
            try:
                body = part.get_payload(decode=True) or b''
            except Exception:
                continue
            body = body[:MAX_PART]
            ctype = part.get_content_type()
            if ctype == 'text/html':
                save(dirs['html'], body)
            if part.get_content_maintype() == 'text':
                cs = (part.get_content_charset() or '').lower() or None
                cs = ALIASES.get(cs, cs)
                idx = CHARSETS.get(cs, 7)
                save(dirs['charset'], bytes([idx]) + body)
                if idx != 0:
                    save(dirs['charset'], bytes([0]) + body)
    for text in CHARSET_TEXTS:
        for idx in range(8):
            save(dirs['charset'], bytes([idx]) + text)
    for root, _, files in os.walk(PUBLIC):
        for name in files:
            if name.endswith('.html'):
                with open(os.path.join(root, name), 'rb') as f:
                    save(dirs['html'], f.read()[:MAX_PART])
    for text in RECORDS:
        save(dirs['record'], text.encode('utf-8'))
    for t, d in dirs.items():
        print(t, len(os.listdir(d)))


if __name__ == '__main__':
    main()
