"""A stand-in for Neon's SQL-over-HTTP endpoint, for the corpus run only (scripts/real-repos.sh).

A repository whose code queries its database through Neon's serverless driver (`neon()` from
@neondatabase/serverless) needs a hosted Neon database, which this machine cannot reach. The
corpus gives such a repository a stand-in PostgreSQL (as it does every hosted database) and this
server next to it, in the same pod: it answers the driver's `POST https://<host>/sql` by running
the query on that PostgreSQL over its local socket and replying in Neon's JSON shape.

What it speaks (the driver's side, @neondatabase/serverless 1.x): a body {"query", "params"} or
{"queries": [...]} (one transaction; the Neon-Batch-* headers set its mode), the database and user
from the Neon-Connection-String header, every value as text (Neon-Raw-Text-Output) and rows as
arrays; a failed query answers 400 with PostgreSQL's error fields. Not a proxy to trust: it skips
the password (the local socket trusts the pod), has no pool and serves no WebSocket (the driver's
Pool/Client); test infrastructure, standard library only.
"""

import json
import os
import socket
import ssl
import struct
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlparse

SOCKET = os.environ.get("PG_SOCKET", "/var/run/postgresql/.s.PGSQL.5432")
# ErrorResponse field codes and the names the driver copies onto its error.
ERROR_FIELDS = {
    "S": "severity", "C": "code", "D": "detail", "H": "hint", "P": "position",
    "p": "internalPosition", "q": "internalQuery", "W": "where", "s": "schema", "t": "table",
    "c": "column", "d": "dataType", "n": "constraint", "F": "file", "L": "line", "R": "routine",
}
ISOLATION = {
    "ReadUncommitted": "READ UNCOMMITTED", "ReadCommitted": "READ COMMITTED",
    "RepeatableRead": "REPEATABLE READ", "Serializable": "SERIALIZABLE",
}


class QueryError(Exception):
    def __init__(self, fields):
        super().__init__(fields.get("message", "query failed"))
        self.fields = fields


class Connection:
    """One PostgreSQL session on the local socket: the extended protocol, text in and out."""

    def __init__(self, user, database):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(SOCKET)
        self.buf = b""
        params = b"user\0" + user.encode() + b"\0database\0" + database.encode() + b"\0\0"
        self.sock.sendall(struct.pack("!ii", 8 + len(params), 196608) + params)
        while True:
            kind, body = self.read()
            if kind == b"R" and struct.unpack("!i", body[:4])[0] != 0:
                raise QueryError({"message": "the stand-in expects trust on the local socket"})
            if kind == b"E":
                raise QueryError(parse_error(body))
            if kind == b"Z":
                return

    def read(self):
        while len(self.buf) < 5 or len(self.buf) < 1 + struct.unpack("!i", self.buf[1:5])[0]:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise QueryError({"message": "PostgreSQL closed the connection"})
            self.buf += chunk
        size = struct.unpack("!i", self.buf[1:5])[0]
        kind, body, self.buf = self.buf[:1], self.buf[5 : 1 + size], self.buf[1 + size :]
        return kind, body

    def send(self, kind, body):
        self.sock.sendall(kind + struct.pack("!i", 4 + len(body)) + body)

    def run(self, query, params):
        """Parse, bind, describe and execute one statement; the result in Neon's shape."""
        values = b"".join(
            struct.pack("!i", -1) if v is None else struct.pack("!i", len(v)) + v
            for v in (encode(p) for p in params)
        )
        self.send(b"P", b"\0" + query.encode() + b"\0" + struct.pack("!h", 0))
        self.send(b"B", b"\0\0" + struct.pack("!hh", 0, len(params)) + values + struct.pack("!h", 0))
        self.send(b"D", b"P\0")
        self.send(b"E", b"\0" + struct.pack("!i", 0))
        self.send(b"S", b"")
        fields, rows, tag, error = [], [], "", None
        while True:
            kind, body = self.read()
            if kind == b"T":
                fields = parse_fields(body)
            elif kind == b"D":
                rows.append(parse_row(body))
            elif kind == b"C":
                tag = body.rstrip(b"\0").decode()
            elif kind == b"E":
                error = parse_error(body)
            elif kind == b"Z":
                break
        if error:
            raise QueryError(error)
        words = tag.split()
        count = int(words[-1]) if words and words[-1].isdigit() else None
        return {
            "command": words[0] if words else "", "rowCount": count, "rows": rows,
            "fields": fields, "rowAsArray": True,
        }

    def close(self):
        try:
            self.send(b"X", b"")
        finally:
            self.sock.close()


def encode(value):
    if value is None:
        return None
    if isinstance(value, bool):
        return b"true" if value else b"false"
    if isinstance(value, (dict, list)):
        return json.dumps(value).encode()
    return str(value).encode()


def cstring(body, at):
    end = body.index(b"\0", at)
    return body[at:end].decode(), end + 1


def parse_fields(body):
    (count,), at, fields = struct.unpack("!h", body[:2]), 2, []
    for _ in range(count):
        name, at = cstring(body, at)
        table, column, oid, size, modifier, fmt = struct.unpack("!ihihih", body[at : at + 18])
        at += 18
        fields.append({
            "name": name, "tableID": table, "columnID": column, "dataTypeID": oid,
            "dataTypeSize": size, "dataTypeModifier": modifier, "format": "text" if fmt == 0 else "binary",
        })
    return fields


def parse_row(body):
    (count,), at, row = struct.unpack("!h", body[:2]), 2, []
    for _ in range(count):
        (size,) = struct.unpack("!i", body[at : at + 4])
        at += 4
        if size < 0:
            row.append(None)
        else:
            row.append(body[at : at + size].decode())
            at += size
    return row


def parse_error(body):
    fields, at = {}, 0
    while at < len(body) and body[at : at + 1] != b"\0":
        code = body[at : at + 1].decode()
        value, at = cstring(body, at + 1)
        if code == "M":
            fields["message"] = value
        elif code in ERROR_FIELDS:
            fields[ERROR_FIELDS[code]] = value
    return fields


def target(connection_string):
    url = urlparse(connection_string)
    user = unquote(url.username or "postgres")
    return user, unquote(url.path.lstrip("/")) or user


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def reply(self, status, payload):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.reply(200, {"standin": "neon-http"})

    def do_POST(self):
        if urlparse(self.path).path != "/sql":
            return self.reply(404, {"message": "not found"})
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
            user, database = target(self.headers.get("Neon-Connection-String", ""))
            conn = Connection(user, database)
        except (ValueError, OSError) as e:
            return self.reply(400, {"message": f"bad request: {e}"})
        except QueryError as e:
            return self.reply(400, e.fields)
        try:
            if "queries" in body:
                mode = ["BEGIN"]
                level = ISOLATION.get(self.headers.get("Neon-Batch-Isolation-Level", ""))
                if level:
                    mode.append("ISOLATION LEVEL " + level)
                if self.headers.get("Neon-Batch-Read-Only") == "true":
                    mode.append("READ ONLY")
                if self.headers.get("Neon-Batch-Deferrable") == "true":
                    mode.append("DEFERRABLE")
                conn.run(" ".join(mode), [])
                try:
                    results = [conn.run(q["query"], q.get("params", [])) for q in body["queries"]]
                except QueryError:
                    conn.run("ROLLBACK", [])
                    raise
                conn.run("COMMIT", [])
                self.reply(200, {"results": results})
            else:
                self.reply(200, conn.run(body["query"], body.get("params", [])))
        except QueryError as e:
            self.reply(400, e.fields)
        finally:
            conn.close()

    def log_message(self, fmt, *args):
        sys.stderr.write("neon-http: " + (fmt % args) + "\n")


def main():
    port = int(os.environ.get("PORT", "8443"))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(os.environ["TLS_CERT"], os.environ["TLS_KEY"])
    server = ThreadingHTTPServer(("0.0.0.0", port), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    sys.stderr.write(f"neon-http: serving https on :{port}, PostgreSQL at {SOCKET}\n")
    server.serve_forever()


if __name__ == "__main__":
    main()
