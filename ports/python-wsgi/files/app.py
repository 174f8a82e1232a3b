"""A small key-value service: the standard library's WSGI server
(wsgiref) and sqlite3, the database on the /data volume.

GET /health -> ok; PUT or POST /kv/KEY with the value as the body;
GET /kv/KEY -> the value; GET /kv -> every key=value line."""
import os
import sqlite3
import sys
from wsgiref.simple_server import make_server, WSGIRequestHandler

DB = os.environ.get("KV_DB", "/data/kv.db")


def db():
    c = sqlite3.connect(DB)
    c.execute("create table if not exists kv (k text primary key, v text)")
    return c


def app(environ, start):
    path = environ.get("PATH_INFO", "/")
    method = environ["REQUEST_METHOD"]
    text = lambda code, body: (start(code, [("Content-Type", "text/plain")]), [body.encode()])[1]
    if path == "/health":
        return text("200 OK", "ok\n")
    if path == "/kv" and method == "GET":
        with db() as c:
            rows = c.execute("select k, v from kv order by k").fetchall()
        return text("200 OK", "".join(f"{k}={v}\n" for k, v in rows))
    if path.startswith("/kv/"):
        key = path[4:]
        if method in ("PUT", "POST"):
            n = int(environ.get("CONTENT_LENGTH") or 0)
            val = environ["wsgi.input"].read(n).decode()
            with db() as c:
                c.execute("insert or replace into kv values (?, ?)", (key, val))
            return text("200 OK", f"stored {key}\n")
        if method == "GET":
            with db() as c:
                row = c.execute("select v from kv where k = ?", (key,)).fetchone()
            if row is None:
                return text("404 Not Found", "no such key\n")
            return text("200 OK", row[0])
    return text("404 Not Found", "not found\n")


class Quiet(WSGIRequestHandler):
    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8080
    with make_server("", port, app, handler_class=Quiet) as s:
        print(f"serving on {port} (sqlite {sqlite3.sqlite_version}, db {DB})", file=sys.stderr, flush=True)
        s.serve_forever()
