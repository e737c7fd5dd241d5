# tumblescope's Python harness: loads one Lambda handler once, then answers invocations read
# from stdin (one JSON message per line) with framed JSON lines on stdout. Everything the
# function prints (print, logging, sys.stdout/stderr) is captured per invocation, so the
# function's own output can never corrupt the protocol. boto3's DynamoDB resource and client
# are replaced by in-memory stand-ins; nothing reaches AWS.
import datetime
import decimal
import importlib.util
import io
import json
import logging
import os
import sys
import time
import traceback
import types

HANDLER_PATH, FUNCTION_NAME, NONCE = sys.argv[1], sys.argv[2], sys.argv[3]
MARK = "\x1eTSR " + NONCE + " "
REAL_OUT = sys.__stdout__

current = None  # {"id", "requestId", "logs", "writes"}
pending = []


def send(msg):
    REAL_OUT.write(MARK + json.dumps(msg, default=_plain) + "\n")
    REAL_OUT.flush()


def _response_plain(o):
    # Lambda's Python runtime encodes Decimal (what boto3 reads numbers as) and nothing else
    # beyond plain JSON: a set or bytes in a response is a Runtime.MarshalError there.
    if isinstance(o, decimal.Decimal):
        return int(o) if o == o.to_integral_value() else float(o)
    raise TypeError("Object of type %s is not JSON serializable" % type(o).__name__)


def _plain(o):
    if isinstance(o, decimal.Decimal):
        return int(o) if o == o.to_integral_value() else float(o)
    if isinstance(o, (set, frozenset)):
        return sorted(o, key=str)
    if isinstance(o, (bytes, bytearray)):
        return o.decode("utf-8", "replace")
    raise TypeError("Object of type %s is not JSON serializable" % type(o).__name__)


# Log text kept per invocation, as tumblescope keeps it (a CloudWatch Logs event is at most
# 256 KB, one PutLogEvents batch 1 MB): past it, bytes are only counted, so a function that
# prints in a loop cannot fill memory here or in tumblescope.
LINE_LIMIT = 256 * 1024
LOG_LIMIT = 1048576
log_bytes = 0
dropped_log_bytes = 0


def take_dropped():
    """The bytes left out since the last invocation; the budget starts again."""
    global log_bytes, dropped_log_bytes
    d = dropped_log_bytes
    log_bytes = dropped_log_bytes = 0
    return d


def _log(line, already_cut=0):
    # Lines go out as they are printed (as to CloudWatch), so a function that then hangs or
    # exits still shows what it said.
    global log_bytes, dropped_log_bytes
    data = line.encode("utf-8", "replace")
    if len(data) > LINE_LIMIT or already_cut:
        kept = data[:LINE_LIMIT].decode("utf-8", "ignore")
        line = kept + " \u2026 %d bytes more" % (len(data) - len(kept.encode("utf-8")) + already_cut)
        data = line.encode("utf-8", "replace")
    if dropped_log_bytes > 0 or log_bytes + len(data) > LOG_LIMIT:
        # Said once, as it happens: a function that then times out still shows the cut.
        if dropped_log_bytes == 0:
            _emit_line(CUT_NOTE)
        dropped_log_bytes += len(data)
        return
    log_bytes += len(data)
    _emit_line(line)


CUT_NOTE = "\u2026 further output left out (tumblescope keeps %d bytes of log text per invocation)" % LOG_LIMIT


def _emit_line(line):
    if current is not None:
        REAL_OUT.write(MARK + json.dumps({"type": "log", "id": current["id"], "line": line}) + "\n")
        REAL_OUT.flush()
    else:
        pending.append(line)


class Capture(io.TextIOBase):
    """Stands in for sys.stdout/sys.stderr: whole lines go to the invocation's logs."""

    def __init__(self):
        self.buf = ""
        self.cut = 0

    def writable(self):
        return True

    def write(self, s):
        self.buf += s
        while "\n" in self.buf:
            line, self.buf = self.buf.split("\n", 1)
            _log(line, self.cut)
            self.cut = 0
        # A line that never ends is kept to the line limit; the rest is only counted.
        if len(self.buf) > LINE_LIMIT:
            self.cut += len(self.buf[LINE_LIMIT:].encode("utf-8", "replace"))
            self.buf = self.buf[:LINE_LIMIT]
        return len(s)

    def flush(self):
        if self.buf or self.cut:
            _log(self.buf, self.cut)
            self.buf = ""
            self.cut = 0


sys.stdout = Capture()
sys.stderr = Capture()


class LambdaLogHandler(logging.Handler):
    """Formats records as Lambda's Python runtime does in CloudWatch."""

    def emit(self, record):
        # The simulated time of the invocation, so traces stay reproducible.
        sim = current.get("simMs") if current else None
        ts = datetime.datetime.fromtimestamp(sim / 1000 if sim is not None else record.created, datetime.timezone.utc)
        rid = current["requestId"] if current else "init"
        _log("[%s]\t%s\t%s\t%s" % (record.levelname, ts.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ts.microsecond // 1000), rid, self.format(record)))


logging.getLogger().handlers = [LambdaLogHandler()]


# ---------------------------------------------------------------------------
# In-memory DynamoDB and the boto3 stand-in.

tables = {}
replaying = False


def _to_plain(v):
    if isinstance(v, float):
        return decimal.Decimal(str(v))
    if isinstance(v, dict):
        return {k: _to_plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_to_plain(x) for x in v]
    return v


def _from_json(v):
    """Numbers read back as Decimal, as boto3's resource returns them."""
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, (int, float)):
        return decimal.Decimal(str(v))
    if isinstance(v, list):
        return [_from_json(x) for x in v]
    if isinstance(v, dict):
        return {k: _from_json(x) for k, x in v.items()}
    return v


def _table(name):
    if not name:
        raise ClientError("ValidationException", "Value null at 'tableName' failed to satisfy constraint")
    return tables.setdefault(name, {"keys": None, "items": []})


def _learn(t, key):
    if t["keys"] is None and key:
        t["keys"] = sorted(key)
        # Until now puts appended every item; a later put of a key replaced an earlier one.
        kept = []
        for item in t["items"]:
            k = {a: item.get(a) for a in t["keys"]}
            for i, x in enumerate(kept):
                if _matches(t, x, k):
                    kept[i] = item
                    break
            else:
                kept.append(item)
        t["items"] = kept


def _matches(t, item, key):
    attrs = t["keys"] or sorted(key)
    return all(item.get(a) == key.get(a) for a in attrs)


def _emit(table, op, item):
    global current
    if not replaying and current is not None:
        w = {"table": table, "op": op, "item": json.loads(json.dumps(item, default=_plain))}
        current["writes"].append(w)
        # Sent as it happens too: the write stays if the invocation then times out or crashes.
        send({"type": "write", "id": current["id"], "write": w})


def _read():
    # An answer that depends on what is in a table: reported, since it may depend on writes
    # other shards' environments made (tumblescope then keeps those shards in sequential order).
    if not replaying and current is not None and not current.get("read"):
        current["read"] = True
        send({"type": "read", "id": current["id"]})


def _put(name, item):
    t = _table(name)
    item = _to_plain(dict(item))
    if t["keys"]:
        key = {a: item.get(a) for a in t["keys"]}
        for i, x in enumerate(t["items"]):
            if _matches(t, x, key):
                t["items"][i] = item
                break
        else:
            t["items"].append(item)
    else:
        t["items"].append(item)
    _emit(name, "put", item)


def _get(name, key):
    _read()
    t = _table(name)
    key = _to_plain(dict(key))
    _learn(t, key)
    for x in t["items"]:
        if _matches(t, x, key):
            return dict(x)
    return None


def _delete(name, key):
    t = _table(name)
    key = _to_plain(dict(key))
    _learn(t, key)
    t["items"] = [x for x in t["items"] if not _matches(t, x, key)]
    _emit(name, "delete", key)


def _split_top(s, sep):
    out, depth, cur = [], 0, ""
    for c in s:
        if c == "(":
            depth += 1
        if c == ")":
            depth -= 1
        if c == sep and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += c
    if cur.strip():
        out.append(cur.strip())
    return out


def _update(name, key, expr, values, names):
    import re

    _read()
    t = _table(name)
    key = _to_plain(dict(key))
    _learn(t, key)
    values = _to_plain(values or {})
    names = names or {}
    item = next((x for x in t["items"] if _matches(t, x, key)), None)
    new = item is None
    if new:
        item = dict(key)

    def attr(p):
        p = p.strip()
        return names.get(p, p) if p.startswith("#") else p

    def operand(o):
        o = o.strip()
        m = re.match(r"^(\w+)\s*\((.*)\)$", o)
        if m:
            args = _split_top(m.group(2), ",")
            if m.group(1) == "if_not_exists":
                v = item.get(attr(args[0]))
                return operand(args[1]) if v is None else v
            if m.group(1) == "list_append":
                return list(operand(args[0]) or []) + list(operand(args[1]) or [])
            raise ClientError("ValidationException", "Invalid UpdateExpression: unknown function " + m.group(1))
        if o.startswith(":"):
            if o not in values:
                raise ClientError("ValidationException", "An expression attribute value used in expression is not defined; attribute value: " + o)
            return values[o]
        return item.get(attr(o))

    def value(v):
        parts, depth, cur = [], 0, ""
        for c in v:
            if c == "(":
                depth += 1
            if c == ")":
                depth -= 1
            if c in "+-" and depth == 0 and cur.strip():
                parts += [cur.strip(), c]
                cur = ""
            else:
                cur += c
        parts.append(cur.strip())
        if len(parts) == 1:
            return operand(parts[0])
        acc = decimal.Decimal(str(operand(parts[0])))
        for i in range(1, len(parts) - 1, 2):
            x = decimal.Decimal(str(operand(parts[i + 1])))
            acc = acc + x if parts[i] == "+" else acc - x
        return acc

    pieces = [p.strip() for p in re.split(r"\b(SET|REMOVE|ADD|DELETE)\b", expr or "", flags=re.I) if p.strip()]
    for i in range(0, len(pieces) - 1, 2):
        kind = pieces[i].upper()
        for action in _split_top(pieces[i + 1], ","):
            if kind == "SET":
                lhs, rhs = action.split("=", 1)
                item[attr(lhs)] = value(rhs)
            elif kind == "REMOVE":
                item.pop(attr(action), None)
            elif kind == "ADD":
                p, v = action.split()
                item[attr(p)] = decimal.Decimal(str(item.get(attr(p)) or 0)) + decimal.Decimal(str(operand(v)))
    if new:
        t["items"].append(item)
    _emit(name, "update", item)
    return dict(item)


def _unmarshall(a):
    if "S" in a:
        return a["S"]
    if "N" in a:
        return decimal.Decimal(a["N"])
    if "BOOL" in a:
        return a["BOOL"]
    if "NULL" in a:
        return None
    if "L" in a:
        return [_unmarshall(x) for x in a["L"]]
    if "M" in a:
        return {k: _unmarshall(x) for k, x in a["M"].items()}
    if "SS" in a:
        return set(a["SS"])
    if "NS" in a:
        return set(decimal.Decimal(x) for x in a["NS"])
    return a


def _marshall(v):
    if v is None:
        return {"NULL": True}
    if isinstance(v, bool):
        return {"BOOL": v}
    if isinstance(v, (int, float, decimal.Decimal)):
        return {"N": str(v)}
    if isinstance(v, str):
        return {"S": v}
    if isinstance(v, (list, tuple)):
        return {"L": [_marshall(x) for x in v]}
    if isinstance(v, dict):
        return {"M": {k: _marshall(x) for k, x in v.items()}}
    return {"S": str(v)}


class ClientError(Exception):
    def __init__(self, code, message):
        super().__init__("An error occurred (%s) when calling the operation: %s" % (code, message))
        self.response = {"Error": {"Code": code, "Message": message}}


class _BatchWriter:
    def __init__(self, table):
        self.table = table

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def put_item(self, Item):
        self.table.put_item(Item=Item)

    def delete_item(self, Key):
        self.table.delete_item(Key=Key)


class Table:
    def __init__(self, name):
        self.name = name
        self.table_name = name

    def put_item(self, Item, **_):
        _put(self.name, Item)
        return {"ResponseMetadata": {"HTTPStatusCode": 200}}

    def get_item(self, Key, **_):
        item = _get(self.name, Key)
        out = {"ResponseMetadata": {"HTTPStatusCode": 200}}
        if item is not None:
            out["Item"] = item
        return out

    def delete_item(self, Key, **_):
        _delete(self.name, Key)
        return {"ResponseMetadata": {"HTTPStatusCode": 200}}

    def update_item(self, Key, UpdateExpression=None, ExpressionAttributeValues=None, ExpressionAttributeNames=None, ReturnValues="NONE", **_):
        item = _update(self.name, Key, UpdateExpression, ExpressionAttributeValues, ExpressionAttributeNames)
        out = {"ResponseMetadata": {"HTTPStatusCode": 200}}
        if ReturnValues and ReturnValues != "NONE":
            out["Attributes"] = item
        return out

    def scan(self, **_):
        _read()
        items = [dict(x) for x in _table(self.name)["items"]]
        return {"Items": items, "Count": len(items)}

    def batch_writer(self, **_):
        return _BatchWriter(self)


class _Resource:
    def Table(self, name):
        return Table(name)


class _Client:
    def put_item(self, TableName, Item, **_):
        _put(TableName, {k: _unmarshall(v) for k, v in Item.items()})
        return {"ResponseMetadata": {"HTTPStatusCode": 200}}

    def get_item(self, TableName, Key, **_):
        item = _get(TableName, {k: _unmarshall(v) for k, v in Key.items()})
        out = {"ResponseMetadata": {"HTTPStatusCode": 200}}
        if item is not None:
            out["Item"] = {k: _marshall(v) for k, v in item.items()}
        return out

    def delete_item(self, TableName, Key, **_):
        _delete(TableName, {k: _unmarshall(v) for k, v in Key.items()})
        return {"ResponseMetadata": {"HTTPStatusCode": 200}}

    def update_item(self, TableName, Key, UpdateExpression=None, ExpressionAttributeValues=None, ExpressionAttributeNames=None, ReturnValues="NONE", **_):
        values = {k: _unmarshall(v) for k, v in (ExpressionAttributeValues or {}).items()}
        item = _update(TableName, {k: _unmarshall(v) for k, v in Key.items()}, UpdateExpression, values, ExpressionAttributeNames)
        out = {"ResponseMetadata": {"HTTPStatusCode": 200}}
        if ReturnValues and ReturnValues != "NONE":
            out["Attributes"] = {k: _marshall(v) for k, v in item.items()}
        return out

    def batch_write_item(self, RequestItems, **_):
        for name, reqs in RequestItems.items():
            for r in reqs:
                if "PutRequest" in r:
                    self.put_item(TableName=name, Item=r["PutRequest"]["Item"])
                if "DeleteRequest" in r:
                    self.delete_item(TableName=name, Key=r["DeleteRequest"]["Key"])
        return {"UnprocessedItems": {}}


def _service(name, kind):
    if name != "dynamodb":
        raise ClientError("UnsupportedService", "tumblescope runs %s('%s') offline only for DynamoDB" % (kind, name))


boto3 = types.ModuleType("boto3")
boto3.resource = lambda name, *a, **k: (_service(name, "resource"), _Resource())[1]
boto3.client = lambda name, *a, **k: (_service(name, "client"), _Client())[1]


class _Session:
    def __init__(self, *a, **k):
        pass

    def resource(self, name, *a, **k):
        return boto3.resource(name)

    def client(self, name, *a, **k):
        return boto3.client(name)


boto3.Session = _Session
boto3.session = types.ModuleType("boto3.session")
boto3.session.Session = _Session
boto3.dynamodb = types.ModuleType("boto3.dynamodb")
boto3.dynamodb.conditions = types.ModuleType("boto3.dynamodb.conditions")
botocore = types.ModuleType("botocore")
botocore.exceptions = types.ModuleType("botocore.exceptions")
botocore.exceptions.ClientError = ClientError
for name, mod in {
    "boto3": boto3,
    "boto3.session": boto3.session,
    "boto3.dynamodb": boto3.dynamodb,
    "boto3.dynamodb.conditions": boto3.dynamodb.conditions,
    "botocore": botocore,
    "botocore.exceptions": botocore.exceptions,
}.items():
    sys.modules[name] = mod


def restore(writes):
    global replaying
    replaying = True
    try:
        for w in writes:
            if w.get("op") == "delete":
                _delete(w["table"], w["item"])
            else:
                _put(w["table"], _from_json(w["item"]))
    finally:
        replaying = False


# ---------------------------------------------------------------------------


class Context:
    def __init__(self, msg):
        self.aws_request_id = msg["requestId"]
        self.function_name = msg["functionName"]
        self.function_version = "$LATEST"
        self.invoked_function_arn = msg["functionArn"]
        self.memory_limit_in_mb = "128"
        self.log_group_name = "/aws/lambda/" + msg["functionName"]
        self.log_stream_name = "2026/01/01/[$LATEST]tumblescope"
        self._deadline = msg["deadlineMs"]

    def get_remaining_time_in_millis(self):
        return max(0, int(self._deadline - time.time() * 1000))


def error_of(e, tb=None):
    frames = traceback.format_tb(tb if tb is not None else e.__traceback__)
    return {"errorType": type(e).__name__, "errorMessage": str(e), "stackTrace": [f for f in frames if "python_harness" not in f]}


def load():
    sys.path.insert(0, os.path.dirname(HANDLER_PATH))
    name = os.path.splitext(os.path.basename(HANDLER_PATH))[0]
    spec = importlib.util.spec_from_file_location(name, HANDLER_PATH)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    fn = getattr(mod, FUNCTION_NAME, None)
    if not callable(fn):
        names = [k for k in dir(mod) if callable(getattr(mod, k)) and not k.startswith("_") and getattr(getattr(mod, k), "__module__", None) == name]
        raise AttributeError(
            "Handler '%s' missing on module '%s'%s" % (FUNCTION_NAME, name, " (it defines: %s)" % ", ".join(names) if names else "")
        )
    return fn


def kinesis_event(k, rest):
    """Kinesis events arrive in a shorter form (only what varies per record, four values each,
    in one flat list) and are rebuilt with the same keys, order and values as the event Lambda
    sends: json.loads of the full text was most of the runtime's time per invocation. `rest` is
    the event without Records (window, state, ...), whose keys follow Records in order."""
    a = k["records"]
    prefix = k["shardId"] + ":"
    role, region, arn = k["role"], k["region"], k["arn"]
    records = [
        {
            "kinesis": {
                "kinesisSchemaVersion": "1.0",
                "partitionKey": a[j],
                "sequenceNumber": a[j + 1],
                "data": a[j + 2],
                "approximateArrivalTimestamp": a[j + 3],
            },
            "eventSource": "aws:kinesis",
            "eventVersion": "1.0",
            "eventID": prefix + a[j + 1],
            "eventName": "aws:kinesis:record",
            "invokeIdentityArn": role,
            "awsRegion": region,
            "eventSourceARN": arn,
        }
        for j in range(0, len(a), 4)
    ]
    event = {"Records": records}
    event.update(rest)
    return event


def main():
    global current
    try:
        fn = load()
    except SyntaxError as e:
        err = {"errorType": "Runtime.UserCodeSyntaxError", "errorMessage": "Syntax error in module: %s (line %s)" % (e.msg, e.lineno), "stackTrace": []}
        send({"type": "init-error", "error": err, "logs": pending[:]})
        return 1
    except AttributeError as e:
        send({"type": "init-error", "error": {"errorType": "Runtime.HandlerNotFound", "errorMessage": str(e), "stackTrace": []}, "logs": pending[:]})
        return 1
    except Exception as e:  # noqa: BLE001 - any import failure is reported as Lambda does
        err = error_of(e)
        err["errorType"] = "Runtime.ImportModuleError"
        err["errorMessage"] = "Unable to import module: %s: %s" % (type(e).__name__, e)
        send({"type": "init-error", "error": err, "logs": pending[:]})
        return 1
    send({"type": "ready", "logs": pending[:]})
    del pending[:]
    for line in sys.stdin.buffer:
        try:
            msg = json.loads(line)
        except ValueError as e:
            send({"type": "protocol-error", "error": error_of(e)})
            continue
        if msg.get("type") == "restore":
            restore(msg.get("writes") or [])
            continue
        current = {"id": msg["id"], "requestId": msg["requestId"], "logs": pending[:], "writes": [], "simMs": msg.get("simMs")}
        del pending[:]
        started = time.perf_counter()
        try:
            event = kinesis_event(msg["kinesis"], msg["event"]) if "kinesis" in msg else msg["event"]
            msg["event"] = msg["kinesis"] = None
            result = fn(event, Context(msg))
            try:
                # NaN and Infinity are not JSON: Lambda cannot return such a response.
                body = json.dumps(result, default=_response_plain, allow_nan=False)
            except (TypeError, ValueError) as e:
                raise type("Runtime.MarshalError", (Exception,), {})("Unable to marshal response: %s" % e)
            sys.stdout.flush()
            sys.stderr.flush()
            us = int((time.perf_counter() - started) * 1e6)
            REAL_OUT.write(
                MARK
                + '{"type":"result","id":%d,"ok":true,"durationUs":%d,"droppedLogBytes":%d,"logs":%s,"writes":%s,"response":%s}\n'
                % (msg["id"], us, take_dropped(), json.dumps(current["logs"]), json.dumps(current["writes"], default=_plain, allow_nan=False), body)
            )
            REAL_OUT.flush()
        except SystemExit:
            # sys.exit() inside the handler ends the runtime, as in Lambda; hand over the logs.
            sys.stdout.flush()
            sys.stderr.flush()
            send({"type": "exit-logs", "id": msg["id"], "logs": current["logs"]})
            raise
        except Exception as e:  # noqa: BLE001 - the function's error is the invocation's result
            sys.stdout.flush()
            sys.stderr.flush()
            us = int((time.perf_counter() - started) * 1e6)
            send({"type": "result", "id": msg["id"], "ok": False, "durationUs": us, "droppedLogBytes": take_dropped(), "error": error_of(e), "logs": current["logs"], "writes": current["writes"]})
        current = None
    return 0


if __name__ == "__main__":
    sys.exit(main())
