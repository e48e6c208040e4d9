"""The hot path of ``amber run``: a memo lookup, a shared lock and an exec, on ``os`` and ``sys``.

``amber run [-f FILE | --env REF] -- CMD`` on an env that exists is the command users type
most; its floor is one interpreter start, a few ``stat`` calls and an exec. This module
imports nothing but ``os`` and ``sys`` (``fcntl`` and ``zlib`` when it gets that far,
both C modules) and reads two small flat files:

- a **run memo** (``$AMBER_HOME/run-memo/``), written by the slow path once it has found
  the env: for a spec file, the stat fingerprints (size, mtime, ctime, inode) of the file,
  of the ``amber.lock`` beside it (or its absence) and of the files it includes; for an
  ``--env`` reference, the store's *generation* (a token the store renews whenever a tag or
  an env is added or removed). A memo whose conditions still hold names the same env the
  slow path would find; anything else (a changed file, a moved tag, an unknown flag, an env
  with ``activate.d`` scripts, a command not on the env's PATH) returns, and the full
  machinery takes over and reports.
- the env's **run activation** (``<env>/.amber/activation.run``), the variables its
  activation sets and its ``activate.d`` scripts, written by hydrate next to
  ``activation.json``. An env with scripts execs ``bash``, which sources them over the
  caller's environment (as ``conda run`` and the slow path do) and execs the command.

This module owns both formats: the writers are here too, called by the store, hydrate,
the API and the CLI. It must never import the rest of Amber (``amber._platform`` only).
"""

from __future__ import annotations

import os
import sys

__all__ = [
    "try_run", "home", "file_key", "ref_key", "fingerprints", "remember", "generation",
    "new_generation", "write_run_activation", "RUN_ACTIVATION", "DEFAULT_FILES", "LOCK_NAME",
    "stale_memos", "SPEC_VARIABLES", "spec_environment", "write_file", "owner_token",
    "scratch_folder", "settings_files", "settings_key", "CONDARC_SEARCH_PATH", "SYSTEM_CONDARC",
    "SETTINGS_VARIABLES", "user_config_path", "project_config_paths",
]  # fmt: skip

_MEMO = "amber-run-memo-1"
_ACTIVATION = "amber-run-activation-2"
RUN_ACTIVATION = "activation.run"  # in the env's .amber/
LOCK_NAME = "amber.lock"
POLICY_NAME = "amber-policy.toml"  # amber.policy.POLICY_NAME: its change voids a memo
DEFAULT_FILES = (
    "environment.yml", "environment.yaml", "requirements.txt", "pyproject.toml", LOCK_NAME,
)  # fmt: skip
# Variables that change what a spec file means (its req_id), so part of every file memo's
# key: uv's index settings and conda's virtual-package overrides (amber.settings reads them:
# UV_INDEX_VARIABLES, conda_overrides; test_hot checks the lists agree).
SPEC_VARIABLES = (
    "UV_DEFAULT_INDEX", "UV_INDEX_URL", "UV_INDEX", "UV_EXTRA_INDEX_URL",
    "CONDA_OVERRIDE_CUDA", "CONDA_OVERRIDE_GLIBC", "CONDA_OVERRIDE_OSX", "CONDA_OVERRIDE_LINUX",
    "CONDA_OVERRIDE_ARCHSPEC",
)  # fmt: skip
# Where settings live (amber.condarc reads them; this module only watches them): conda's
# search path, lowest precedence first, as conda documents it ("~" and "$VAR" expanded, an
# entry with an unset variable skipped; "DIR/" a condarc.d folder of *.yml files) ...
CONDARC_SEARCH_PATH = (
    "$CONDA_ROOT/.condarc", "$CONDA_ROOT/condarc", "$CONDA_ROOT/condarc.d/",
    "$XDG_CONFIG_HOME/conda/.condarc", "$XDG_CONFIG_HOME/conda/condarc",
    "$XDG_CONFIG_HOME/conda/condarc.d/",
    "~/.config/conda/.condarc", "~/.config/conda/condarc", "~/.config/conda/condarc.d/",
    "~/.conda/.condarc", "~/.conda/condarc", "~/.conda/condarc.d/",
    "~/.condarc",
    "$CONDA_PREFIX/.condarc", "$CONDA_PREFIX/condarc", "$CONDA_PREFIX/condarc.d/",
    "$CONDARC",
)  # fmt: skip
SYSTEM_CONDARC = (
    ("C:/ProgramData/conda/.condarc", "C:/ProgramData/conda/condarc",
     "C:/ProgramData/conda/condarc.d")
    if sys.platform == "win32"
    else ("/etc/conda/.condarc", "/etc/conda/condarc", "/etc/conda/condarc.d/",
          "/var/lib/conda/.condarc", "/var/lib/conda/condarc", "/var/lib/conda/condarc.d/")
)  # fmt: skip
# ... and the variables that say which settings (and which policy) hold, beside conda's own
# `$CONDA_<KEY>` settings (every `CONDA_*` but those an activated conda env sets).
SETTINGS_VARIABLES = ("AMBER_CONFIG", "AMBER_POLICY", "AMBER_MIRRORS", "CONDARC")
_ACTIVATION_VARIABLES = (
    "CONDA_PREFIX", "CONDA_SHLVL", "CONDA_DEFAULT_ENV", "CONDA_PROMPT_MODIFIER", "CONDA_EXE",
    "CONDA_PYTHON_EXE",
)  # fmt: skip
_ENV_ID_LENGTH = 16  # amber.store.ENV_ID_LENGTH (test_hot checks they agree)
_MAX_MEMO = 1 << 20  # a memo is a few hundred bytes: anything larger is not ours


# -- where things are ------------------------------------------------------------------------


def home(environ: dict[str, str] | os._Environ[str] | None = None) -> str | None:
    """The store's directory as ``amber.settings.default_home`` finds it (platformdirs'
    ``user_data_dir``), or ``None`` where this module doesn't know (the slow path does)."""
    env = os.environ if environ is None else environ
    given = env.get("AMBER_HOME")
    if given:
        return os.path.expanduser(given)
    if sys.platform.startswith("linux"):
        base = env.get("XDG_DATA_HOME", "").strip() or os.path.expanduser("~/.local/share")
        return os.path.join(base, "amber")
    if sys.platform == "darwin":
        return os.path.join(os.path.expanduser("~/Library/Application Support"), "amber")
    return None


def _memo_dir(home_dir: str) -> str:
    return os.path.join(home_dir, "run-memo")


def _python() -> str:
    return f"{sys.version_info[0]}.{sys.version_info[1]}"


def spec_environment() -> str:
    """The values of ``SPEC_VARIABLES`` in this process (set, even empty, or not set)."""
    return "\x1e".join(f"{v}={os.environ[v]}" for v in SPEC_VARIABLES if v in os.environ)


def file_key(path: str, platform: str, python: str | None) -> str:
    """The memo key of a spec file: where it is (symlinks resolved), for which platform and
    Python (default: this interpreter's, as the slow path's), under which variables and
    settings files."""
    parts = ("file", os.path.realpath(path), platform, python or _python(), spec_environment(),
             settings_key())  # fmt: skip
    return "\x1f".join(parts)


def ref_key(ref: str, platform: str) -> str:
    """The memo key of a reference: under which settings (they may name a policy)."""
    return "\x1f".join(("ref", ref, platform, settings_key()))


# -- settings files --------------------------------------------------------------------------


def _expand(entry: str, environ: dict[str, str] | os._Environ[str]) -> str | None:
    """A search path entry with its leading ``$VAR`` or ``~`` expanded; ``None`` when unset."""
    if entry.startswith("$"):
        name, sep, rest = entry[1:].partition("/")
        value = environ.get(name)
        return (value + sep + rest if rest or sep else value) if value else None
    if entry.startswith("~"):
        home_dir = environ.get("HOME") or environ.get("USERPROFILE")
        return home_dir + entry[1:] if home_dir else None
    return entry


def user_config_path(environ: dict[str, str] | os._Environ[str]) -> str | None:
    """Amber's user settings file: ``$XDG_CONFIG_HOME/amber/config.toml``, else
    ``~/.config/amber/config.toml``."""
    xdg = environ.get("XDG_CONFIG_HOME")
    if xdg:
        return os.path.join(xdg, "amber", "config.toml")
    home_dir = environ.get("HOME") or environ.get("USERPROFILE")
    return os.path.join(home_dir, ".config", "amber", "config.toml") if home_dir else None


def project_config_paths(cwd: str) -> list[str]:
    """Where a project's settings may be: ``.amber/config.toml`` in ``cwd`` and each parent,
    nearest first."""
    out = []
    directory = os.path.abspath(cwd)
    while True:
        out.append(os.path.join(directory, ".amber", "config.toml"))
        parent = os.path.dirname(directory)
        if parent == directory:
            return out
        directory = parent


def _stat_fingerprint(st: os.stat_result) -> str:
    return f"{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}:{st.st_dev}"


def _settings(env: dict[str, str] | os._Environ[str], cwd: str | None) -> list[tuple[str, str]]:
    """``(path, fingerprint or "-")`` of every settings file there may be (one ``stat`` each)."""
    out: list[tuple[str, str]] = []

    def add(path: str) -> os.stat_result | None:
        try:
            st = os.stat(path)
        except (OSError, ValueError):
            out.append((path, "-"))
            return None
        out.append((path, _stat_fingerprint(st)))
        return st

    for entry in (*SYSTEM_CONDARC, *CONDARC_SEARCH_PATH):
        path = _expand(entry, env)
        if path is None:
            continue
        st = add(path.rstrip("/\\") if entry.endswith("/") else path)
        if entry.endswith("/") and st is not None and st.st_mode & 0o170000 == 0o040000:
            try:
                names = sorted(os.listdir(path))
            except OSError:
                continue
            for name in names:
                if name.endswith((".yml", ".yaml")):
                    add(os.path.join(path, name))
    user = user_config_path(env)
    if user:
        add(user)
    if env.get("AMBER_CONFIG"):
        add(os.path.expanduser(env["AMBER_CONFIG"]))
    try:
        for path in project_config_paths(os.getcwd() if cwd is None else cwd):
            add(path)
    except OSError:
        out.append(("\0no-cwd", "\0"))  # never matches a later run's: the slow path settles it
    return out


def settings_files(
    environ: dict[str, str] | os._Environ[str] | None = None, cwd: str | None = None
) -> list[str]:
    """Every file (and condarc.d folder) whose change may change the settings ``amber.condarc``
    reads in ``environ`` from ``cwd``: conda's search path, Amber's user, ``$AMBER_CONFIG`` and
    project files, present or not."""
    return [path for path, _ in _settings(os.environ if environ is None else environ, cwd)]


def _environ_now() -> dict[str, str]:
    """This process's environment as a plain dict, decoded once: ``os.environ`` decodes at
    every lookup, and the settings key makes about sixty of them."""
    data = getattr(os.environ, "_data", None)
    if os.name != "posix" or not isinstance(data, dict):
        return dict(os.environ)
    encoding = sys.getfilesystemencoding()
    return {
        k.decode(encoding, "surrogateescape"): v.decode(encoding, "surrogateescape")
        for k, v in data.items()
    }


def settings_key(environ: dict[str, str] | os._Environ[str] | None = None) -> str:
    """What the settings in force are made of, as stat calls see it: the variables that name
    or set them (``CONDA_<KEY>`` too, but for an activated env's own) and the fingerprint of
    each settings file there is (a file that appears, changes or goes changes it). Part of
    every memo key, so that a memo never outlives a change of ``.condarc``, Amber's settings
    or the policy they name."""
    env = _environ_now() if environ is None else environ
    parts = [f"{v}={env[v]}" for v in SETTINGS_VARIABLES if env.get(v)]
    parts += sorted(
        f"{k}={v}" for k, v in env.items()
        if k.startswith("CONDA_") and v.strip() and k not in _ACTIVATION_VARIABLES
        and not k.startswith("CONDA_PREFIX_")
    )  # fmt: skip
    parts += [f"{path}={fp}" for path, fp in _settings(env, None) if fp != "-"]
    return "\x1e".join(parts)


def _memo_path(home_dir: str, key: str) -> str:
    import zlib  # a C module, cheap; only once the lookup has got this far

    data = key.encode("utf-8", "surrogateescape")
    return os.path.join(_memo_dir(home_dir), f"{zlib.crc32(data):08x}{zlib.adler32(data):08x}")


# -- fingerprints and the store's generation -------------------------------------------------


def _fingerprint(path: str) -> str:
    """What a file's identity is here: size, mtime, ctime, inode, device; ``-`` if absent."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return "-"
    return _stat_fingerprint(st)


def fingerprints(paths: list[str]) -> list[tuple[str, str]]:
    """``(path, fingerprint)`` of each path, to take *before* the slow path reads them: a file
    changed after that is seen as changed by the next run."""
    return [(os.path.abspath(p), _fingerprint(p)) for p in paths]


def _generation_path(home_dir: str) -> str:
    return os.path.join(_memo_dir(home_dir), "generation")


def generation(home_dir: str) -> str:
    """The store's current generation token (``-`` before the first change)."""
    try:
        with open(_generation_path(home_dir), "rb") as f:
            return f.read(64).decode("ascii", "replace").strip() or "-"
    except OSError:
        return "-"


def new_generation(home_dir: str) -> None:
    """A tag or an env was added or removed: every ``--env`` memo taken before is void."""
    write_file(_generation_path(home_dir), os.urandom(16).hex().encode())


# -- writing ---------------------------------------------------------------------------------


def write_file(path: str, data: bytes) -> None:
    """``data`` into ``path`` atomically (a unique temporary file renamed over it)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.{os.getpid()}.{os.urandom(4).hex()}.part"
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def owner_token() -> str:
    """``<pid>.<host>``: who owns a scratch name, for ``amber._fs.sweep_scratch`` to check."""
    import zlib

    node = os.uname().nodename if hasattr(os, "uname") else os.environ.get("COMPUTERNAME", "")
    return f"{os.getpid()}.{zlib.crc32(node.encode()):08x}"


def scratch_folder(kind: str) -> str:
    """A new private folder ``amber-<owner>-<kind>-*`` in ``$TMPDIR`` (named as
    ``amber._fs.scratch_dir`` names its own, so that a dead owner's is swept); the caller
    removes it."""
    import tempfile

    return tempfile.mkdtemp(prefix=f"amber-{owner_token()}-{kind}-")


def _pack(fields: list[str]) -> bytes:
    return "\0".join(fields).encode("utf-8", "surrogateescape")


def remember(
    home_dir: str,
    key: str,
    full_id: str,
    env_path: str,
    lock_path: str,
    *,
    files: tuple[tuple[str, str], ...] | list[tuple[str, str]] = (),
    generation_token: str | None = None,
) -> None:
    """Write the memo: ``key`` names the env at ``env_path`` (in-use lock ``lock_path``)
    while ``files`` keep their fingerprints and, for a reference, while the store's
    generation is still ``generation_token``. Best effort: a memo is only a shortcut."""
    fields = [_MEMO, key, full_id, os.path.abspath(env_path), os.path.abspath(lock_path),
              generation_token or "", str(len(files))]  # fmt: skip
    for path, fingerprint in files:
        fields += [path, fingerprint]
    if any("\0" in f for f in fields):
        return
    try:
        write_file(_memo_path(home_dir, key), _pack(fields))
    except OSError:
        pass  # a read-only or full store: the slow path still works


def write_run_activation(
    meta_dir: str,
    variables: dict[str, str],
    path_prepend: tuple[str, ...] | list[str],
    scripts: tuple[str, ...] | list[str] = (),
) -> None:
    """The env's activation for the hot path: what it sets, what it puts first on PATH and
    the ``activate.d`` scripts to source at each run."""
    path = os.path.join(meta_dir, RUN_ACTIVATION)
    fields = [_ACTIVATION, str(len(path_prepend)), *path_prepend, str(len(scripts)), *scripts]
    for name, value in sorted(variables.items()):
        fields += [name, value]
    if any("\0" in f for f in fields):
        return
    write_file(path, _pack(fields))


# -- reading ---------------------------------------------------------------------------------


def _read_fields(path: str) -> list[str] | None:
    try:
        with open(path, "rb") as f:
            data = f.read(_MAX_MEMO + 1)
    except (OSError, ValueError):
        return None
    if len(data) > _MAX_MEMO:
        return None
    return data.decode("utf-8", "surrogateescape").split("\0")


def read_memo(home_dir: str, key: str) -> tuple[str, str, str, str, list[tuple[str, str]]] | None:
    """``(full_id, env path, lock path, generation, [(file, fingerprint)])`` of ``key``'s
    memo, or ``None`` (none, another key's, or not one of ours)."""
    fields = _read_fields(_memo_path(home_dir, key))
    if fields is None or len(fields) < 7 or fields[0] != _MEMO or fields[1] != key:
        return None
    full_id, env_path, lock_path, token = fields[2:6]
    files_count = _count(fields, 6)
    if files_count is None or len(fields) != 7 + 2 * files_count or not full_id:
        return None
    files = [(fields[i], fields[i + 1]) for i in range(7, len(fields), 2)]
    return full_id, env_path, lock_path, token, files


def _count(fields: list[str], at: int) -> int | None:
    text = fields[at] if at < len(fields) else ""
    return int(text) if text.isascii() and text.isdigit() and len(text) < 7 else None


def memo_env(path: str) -> tuple[str, str] | None:
    """``(full_id, env path)`` a memo file names, or ``None`` when it is not a memo."""
    fields = _read_fields(path)
    if fields is None or len(fields) < 7 or fields[0] != _MEMO:
        return None
    return fields[2], fields[3]


def stale_memos(home_dir: str) -> list[str]:
    """The memo files whose env is no longer complete (or that are not memos): `amber gc`
    removes them."""
    folder = _memo_dir(home_dir)
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    stale = []
    for name in names:
        if name == "generation" or name.endswith(".part"):
            continue
        path = os.path.join(folder, name)
        target = memo_env(path)
        if target is None or not _complete(target[1], target[0]):
            stale.append(path)
    return stale


def read_run_activation(meta_dir: str) -> tuple[list[str], dict[str, str], list[str]] | None:
    """``(path_prepend, variables, scripts)`` of an env, or ``None`` when it has none."""
    fields = _read_fields(os.path.join(meta_dir, RUN_ACTIVATION))
    if fields is None or fields[0] != _ACTIVATION:
        return None
    prepends = _count(fields, 1)
    if prepends is None:
        return None
    scripts_at = 2 + prepends
    scripts = _count(fields, scripts_at)
    if scripts is None:
        return None
    rest = fields[scripts_at + 1 + scripts :]
    if len(fields) < scripts_at + 1 + scripts or len(rest) % 2:
        return None
    variables = dict(zip(rest[::2], rest[1::2], strict=True))
    return fields[2:scripts_at], variables, fields[scripts_at + 1 : scripts_at + 1 + scripts]


def apply_activation(
    environ: dict[str, str], path_prepend: list[str], variables: dict[str, str]
) -> dict[str, str]:
    """``environ`` with the env active (and any other conda env or venv off): the one rule,
    which ``amber.store.env.Activation.apply`` calls too."""
    out = dict(environ)
    path = out.get("PATH", "").split(os.pathsep) if out.get("PATH") else []
    for key in ("CONDA_PREFIX", "VIRTUAL_ENV"):
        other = out.pop(key, None)
        if other:
            path = [p for p in path if not p.startswith(other.rstrip("/") + "/")]
    out.pop("PYTHONHOME", None)
    out.update(variables)
    out["PATH"] = os.pathsep.join([*path_prepend, *path])
    return out


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def _through_bash(
    env_path: str,
    scripts: list[str],
    command: list[str],
    caller: dict[str, str] | os._Environ[str],
    env_tool: str | None,
) -> list[str] | None:
    """``bash -c`` that sources ``scripts`` (their output on stderr) and execs ``command``,
    as ``amber.store.env.run_activation_scripts`` then ``exec`` do: a script that exits
    fails the run with the same message, exit code 2. The variables bash sets itself
    (``SHLVL``, ``PWD``, ``OLDPWD``) are the caller's, as there (``_SHELL_OWN``). ``None``
    when that can't be done here."""
    before = f"error: the activation scripts of the env {env_path} failed (exit code "
    after = f"): {', '.join(scripts)}; their output is above"
    lines = [  # shell variables, not exported: the command never sees them
        f"amber_before={_quote(before)}",
        f"amber_after={_quote(after)}",
        """trap 's=$?; printf "%s%s%s\\n" "$amber_before" "$s" "$amber_after" >&2; exit 2' EXIT""",
        "{",
    ]
    lines.insert(0, 'amber_argv=("$@"); set --')  # the scripts see no arguments, as there
    lines += [f". {_quote(script)}" for script in scripts]
    lines += ["} >&2", "trap - EXIT"]
    for name in ("PWD", "OLDPWD"):
        value = caller.get(name)
        lines.append(f"export {name}={_quote(value)}" if value is not None else f"unset {name}")
    # bash's `exec` takes one from a numeric SHLVL, and sets 0 for any other or none: give it
    # one more to take, or leave the command's SHLVL to `env` (when there is no `=` in the
    # command's name for `env` to take for a variable).
    level = caller.get("SHLVL")
    if level is not None and level.isascii() and level.isdigit() and len(level) < 6:
        lines += [f"export SHLVL={int(level) + 1}", 'exec "${amber_argv[@]}"']
    elif env_tool is not None and "=" not in command[0]:
        keep = f"SHLVL={_quote(level)} " if level is not None else ""
        lines.append(f'exec {_quote(env_tool)} -u SHLVL {keep}"${{amber_argv[@]}}"')
    else:
        return None
    return ["--noprofile", "--norc", "-c", "\n".join(lines), "bash", *command]


def _complete(env_path: str, full_id: str) -> bool:
    try:
        with open(os.path.join(env_path, ".amber", "complete"), "rb") as f:
            return f.read(200).decode("ascii", "replace").strip() == full_id
    except OSError:
        return False


def _find(command: str, environ: dict[str, str]) -> str | None:
    if os.sep in command or (os.altsep and os.altsep in command):
        return command
    # os.get_exec_path's search, without the `warnings` import it makes
    for directory in environ.get("PATH", os.defpath).split(os.pathsep):
        candidate = os.path.join(directory, command)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None  # not found, or not executable: the slow path says which


# -- the hot path ------------------------------------------------------------------------------


def _parse(args: list[str]) -> tuple[str | None, str | None, list[str]] | None:
    """``[-f FILE | --env REF] [-q] -- CMD...`` (or CMD without ``--``) -> (file, ref, CMD);
    ``None`` for anything else (the full CLI parses it)."""
    file = ref = None
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            return file, ref, args[i + 1 :]
        if arg in ("-f", "--file", "--env") and i + 1 < len(args):
            if arg == "--env":
                ref = args[i + 1]
            else:
                file = args[i + 1]
            i += 2
        elif arg.startswith("--file="):
            file, i = arg.split("=", 1)[1], i + 1
        elif arg.startswith("--env="):
            ref, i = arg.split("=", 1)[1], i + 1
        elif arg in ("-q", "--quiet"):
            i += 1
        elif arg.startswith("-"):
            return None
        else:
            return file, ref, args[i:]
    return None


def _lookup(home_dir: str, file: str | None, ref: str | None) -> tuple[str, str, str] | None:
    """``(full_id, env path, lock path)`` the memo gives, its conditions checked."""
    from amber._platform import host_platform

    platform = host_platform()
    if ref is not None:
        if file is not None or not ref or os.path.isdir(ref):
            return None  # a directory is a path reference: the slow path resolves those
        memo = read_memo(home_dir, ref_key(ref, platform))
        if memo is None or not memo[3] or memo[3] != generation(home_dir):
            return None
        if any(_fingerprint(path) != fingerprint for path, fingerprint in memo[4]):
            return None  # the policy files it was checked against
    else:
        if file is None:
            file = next((n for n in DEFAULT_FILES if os.path.isfile(n)), None)
            if file is None:
                return None
        memo = read_memo(home_dir, file_key(file, platform, None))
        if memo is None or not memo[4]:
            return None
        if any(_fingerprint(path) != fingerprint for path, fingerprint in memo[4]):
            return None
    return memo[0], memo[1], memo[2]


def try_run(args: list[str]) -> None:
    """Exec ``amber run ARGS`` when the memo names a complete env; return when it can't."""
    parsed = _parse(args)
    home_dir = home()
    if parsed is None or not parsed[2] or home_dir is None:
        return
    try:
        import fcntl
    except ImportError:  # Windows: the slow path's byte-range locks
        return
    found = _lookup(home_dir, parsed[0], parsed[1])
    if found is None or not _complete(found[1], found[0]):
        return
    full_id, env_path, lock_path = found
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)  # waits out a build or a removal, as the slow path
        activation = read_run_activation(os.path.join(env_path, ".amber"))
        if activation is None or not _complete(env_path, full_id):
            return
        prepend, variables, scripts = activation
        environ = apply_activation(dict(os.environ), prepend, variables)
        command = parsed[2]
        executable = _find(command[0], environ)
        if executable is None:
            return
        if scripts:
            bash = _find("bash", environ)
            through = _through_bash(env_path, scripts, command, os.environ, _find("env", environ))
            if bash is None or through is None:
                return
            command, executable = [bash, *through], bash
        try:
            os.utime(fd)  # last used: `amber gc` and `amber env list` read it
        except OSError:
            pass
        os.set_inheritable(fd, True)  # held until the command ends: in use, never removed
        os.execve(executable, command, environ)
    except OSError:
        return  # the slow path tries again and says what is wrong
    finally:
        os.close(fd)  # reached only when the exec did not happen
