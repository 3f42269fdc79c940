/**
 * The runner: a small Python program run inside the sandbox (`python3 -I -c RUNNER label`). It reads one JSON line
 * from stdin — `{nonce, mode, code, filename, from_file, context, warm}` — and either compiles the code (`validate`) or
 * executes it with `context` among its globals (`execute`). The user's stdout and stderr go where they would go;
 * the runner's reply is the last thing on stdout, after a line `MARK + nonce`, so the host tells it from anything
 * the code printed. Processes forked by the code never reply; only the runner's own process does.
 */
import { Json } from "@gleitzeit/core"
import * as Schema from "effect/Schema"

/** The line that precedes the reply (followed by the run's nonce). */
export const MARK = "\u001e__gleitzeit_reply__"

/** The runner program. */
export const script = String.raw`
import json, os, sys

MARK = ${JSON.stringify(MARK)}

def _others():
    me = os.getpid()
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) in (1, me):
            continue
        try:
            with open("/proc/%s/stat" % name, "rb") as f:
                state = f.read().rsplit(b")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state != b"Z":
            found.append(int(name))
    return found

def _reap():
    # A warm container outlives the run: kill whatever the code left running (pid 1 reaps them).
    for _ in range(200):
        pids = _others()
        if not pids:
            return True
        for pid in pids:
            try:
                os.kill(pid, 9)
            except OSError:
                pass
        try:
            while os.waitpid(-1, os.WNOHANG)[0] > 0:
                pass
        except ChildProcessError:
            pass
    return not _others()

def _wipe_tmp():
    import shutil
    for name in os.listdir("/tmp"):
        path = os.path.join("/tmp", name)
        try:
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                os.unlink(path)
        except OSError:
            pass

def _flush():
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except Exception:
            pass

def _main():
    reply_fd = os.dup(1)
    request = json.loads(sys.stdin.buffer.readline())
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    owner = os.getpid()
    warm = request.get("warm", False)
    if warm:
        _reap()
        _wipe_tmp()
    os.chdir("/tmp")

    def leave(status):
        _flush()
        os._exit(status)

    def reply(payload, status):
        if os.getpid() != owner:
            leave(status)
        _flush()
        if warm:
            payload["clean"] = _reap()
        try:
            body = json.dumps(payload, allow_nan=False, separators=(",", ":"))
        except (TypeError, ValueError, OverflowError, RecursionError) as e:
            body = json.dumps({"ok": False, "kind": "result", "type": type(e).__name__,
                               "message": "the result is not JSON-serializable: %s" % e})
            status = 1
        data = memoryview(("\n%s%s\n%s\n" % (MARK, request["nonce"], body)).encode())
        while data:
            data = data[os.write(reply_fd, data):]
        os._exit(status)

    source = request["code"]
    filename = request["filename"]
    from_file = request.get("from_file", False)
    if request["mode"] == "validate":
        try:
            compile(source, filename, "exec", dont_inherit=True)
        except SyntaxError as e:
            # A host file's text is never quoted: Python's message may carry a piece of it.
            message = "invalid syntax" if from_file else str(e.msg)
            reply({"ok": True, "valid": False,
                   "error": {"message": message, "line": e.lineno, "column": e.offset}}, 0)
        except ValueError as e:
            message = "not Python source" if from_file else str(e)
            reply({"ok": True, "valid": False, "error": {"message": message, "line": None, "column": None}}, 0)
        reply({"ok": True, "valid": True}, 0)
    if from_file:
        try:
            compile(source, filename, "exec", dont_inherit=True)
        except (SyntaxError, ValueError) as e:
            reply({"ok": False, "kind": "source", "type": type(e).__name__, "message": "",
                   "line": getattr(e, "lineno", None), "column": getattr(e, "offset", None)}, 1)

    import linecache
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    scope = {"__name__": "__main__", "__builtins__": __builtins__, "context": request["context"]}
    try:
        exec(compile(source, filename, "exec", dont_inherit=True), scope)
    except SystemExit as e:
        if e.code is not None and e.code != 0:
            if os.getpid() == owner and warm:
                _reap()
            if isinstance(e.code, int):
                leave(e.code & 0xFF)
            print(e.code, file=sys.stderr)
            leave(1)
    except BaseException as e:
        if os.getpid() != owner:
            leave(1)
        import traceback
        tb = e.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename != filename:
            tb = tb.tb_next
        reply({"ok": False, "kind": "exception", "type": type(e).__name__, "message": str(e),
               "traceback": "".join(traceback.format_exception(type(e), e, tb))}, 1)
    reply({"ok": True, "result": scope.get("result")}, 0)

_main()
`

/** A reply of the runner. */
export const Reply = Schema.Union(
  Schema.Struct({ ok: Schema.Literal(true), result: Json.Json, clean: Schema.optional(Schema.Boolean) }),
  Schema.Struct({
    ok: Schema.Literal(true),
    valid: Schema.Boolean,
    error: Schema.optional(Schema.Struct({
      message: Schema.String,
      line: Schema.NullOr(Schema.Number),
      column: Schema.NullOr(Schema.Number)
    })),
    clean: Schema.optional(Schema.Boolean)
  }),
  Schema.Struct({
    ok: Schema.Literal(false),
    kind: Schema.Literal("source"),
    type: Schema.String,
    message: Schema.String,
    line: Schema.optional(Schema.NullOr(Schema.Number)),
    column: Schema.optional(Schema.NullOr(Schema.Number)),
    clean: Schema.optional(Schema.Boolean)
  }),
  Schema.Struct({
    ok: Schema.Literal(false),
    kind: Schema.Literal("exception", "result"),
    type: Schema.String,
    message: Schema.String,
    traceback: Schema.optional(Schema.String),
    clean: Schema.optional(Schema.Boolean)
  })
)

/** A reply of the runner. */
export type Reply = typeof Reply.Type

const decodeReply = Schema.decodeUnknownEither(Schema.parseJson(Reply))

/** Splits a run's stdout into the code's own output and the runner's reply (absent when it never replied). */
export const split = (
  stdout: string,
  nonce: string
): { readonly output: string; readonly reply: Reply | undefined; readonly malformed: boolean } => {
  const marker = `\n${MARK}${nonce}\n`
  const at = stdout.lastIndexOf(marker)
  if (at < 0) return { output: stdout, reply: undefined, malformed: false }
  const decoded = decodeReply(stdout.slice(at + marker.length).trim())
  return decoded._tag === "Right"
    ? { output: stdout.slice(0, at), reply: decoded.right, malformed: false }
    : { output: stdout.slice(0, at), reply: undefined, malformed: true }
}
