"""The command line, run as its own process: ``python -m usermapper``."""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import guacamole_reader

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
CLASSROOM = EXAMPLES / "classroom.yaml"
ENV = {**os.environ, "PYTHONPATH": str(REPO)}


def usermapper(*args: str, cwd: Path, stdin: bytes = b"") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "usermapper", *args], cwd=cwd, input=stdin,
                          capture_output=True, env=ENV, timeout=60)


def test_writes_the_file(tmp_path):
    result = usermapper("-i", str(CLASSROOM), "-o", "out.xml", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, b"")
    assert result.stderr == b"usermapper: wrote 20,314 bytes to out.xml: 13 users, 65 connections\n"
    users = guacamole_reader.read((tmp_path / "out.xml").read_bytes())
    assert len(users) == 13
    assert users["trainer1"][0] == "Lab-Trainer-2026"
    assert [p.name for p in tmp_path.iterdir()] == ["out.xml"]


def test_reads_config_yaml_and_writes_user_mapping_xml_by_default(tmp_path):
    shutil.copy(CLASSROOM, tmp_path / "config.yaml")
    result = usermapper(cwd=tmp_path)
    assert result.returncode == 0
    assert (tmp_path / "user-mapping.xml").read_bytes().startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n')


def test_a_dash_means_standard_input_and_output(tmp_path):
    result = usermapper("-i", "-", "-o", "-", cwd=tmp_path, stdin=CLASSROOM.read_bytes())
    assert result.returncode == 0
    assert len(guacamole_reader.read(result.stdout)) == 13
    assert list(tmp_path.iterdir()) == []


def test_credentials_sheet_logs_every_user_in(tmp_path):
    hashed = re.sub("^        password: ", "        password_encoding: md5\n        password: ", CLASSROOM.read_text(),
                    flags=re.MULTILINE)
    result = usermapper("-i", "-", "-o", "out.xml", "--credentials", "people.csv", cwd=tmp_path,
                        stdin=hashed.encode())
    assert result.returncode == 0
    users = guacamole_reader.read((tmp_path / "out.xml").read_bytes())
    rows = list(csv.DictReader(io.StringIO((tmp_path / "people.csv").read_text(encoding="utf-8"))))
    assert [r["username"] for r in rows] == list(users)
    assert all(guacamole_reader.authenticates(users, r["username"], r["password"]) for r in rows)
    assert {encoding for _, encoding, _ in users.values()} == {"md5"}


def test_check_prints_a_summary_and_writes_nothing(tmp_path):
    result = usermapper("-i", str(CLASSROOM), "--check", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.decode().splitlines() == [
        f"{CLASSROOM}: valid: 13 users in 2 types, 5 devices in 2 types, 65 connections",
        "  trainers: 1 user (trainer1), 5 connections each: desktops, routers",
        "  students: 12 users (student01 to student12), 5 connections each: desktops, routers",
        "  shared devices: desktops (3 rdp), routers (2 ssh)"]
    assert list(tmp_path.iterdir()) == []


def test_errors_are_located_on_stderr_with_exit_2(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(CLASSROOM.read_text().replace("quantity: 12", "quantity: 0")
                      .replace("protocol: ssh", "protocol: shh"))
    result = usermapper(cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, b"")
    assert result.stderr.decode().splitlines() == [
        "config.yaml:10:19: users.students.quantity: must be a whole number of at least 1, not 0",
        "config.yaml:36:23: devices.routers.parameters.protocol: must be one of rdp, vnc, ssh, telnet, "
        "kubernetes, not 'shh' (did you mean 'ssh'?)",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml"]


@pytest.mark.parametrize("name, line", [("missing-quantity.yaml", "5:5: users.students.quantity: is missing"),
                                        ("not-yaml.yaml", "4:1: a tab character: ")])
def test_invalid_examples_are_reported_by_file_and_place(tmp_path, name, line):
    path = EXAMPLES / "invalid" / name
    result = usermapper("-i", str(path), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.decode().startswith(f"{path}:{line}")
    assert list(tmp_path.iterdir()) == []


def test_errors_in_standard_input_are_located_in_stdin(tmp_path):
    result = usermapper("-i", "-", "-o", "-", cwd=tmp_path, stdin=b"users: [\n")
    assert (result.returncode, result.stdout) == (2, b"")
    assert result.stderr.decode().startswith("<stdin>:2:1: not valid YAML")


def test_warnings_are_reported_and_the_file_is_written(tmp_path):
    config = CLASSROOM.read_text().replace("ignore-cert:", "ignore-certs:")
    result = usermapper("-i", "-", "-o", "out.xml", "--quiet", cwd=tmp_path, stdin=config.encode())
    assert result.returncode == 0
    assert result.stderr.decode() == (
        "<stdin>:28:13: warning: devices.desktops.parameters.ignore-certs: is not a parameter guacd 1.6.0 rdp "
        "connections know; it is written as given (did you mean 'ignore-cert'?)\n")
    assert b'<param name="ignore-certs">true</param>' in (tmp_path / "out.xml").read_bytes()


def test_a_missing_input_file_is_a_clear_error(tmp_path):
    result = usermapper("-i", "nope.yaml", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.decode() == "usermapper: cannot read nope.yaml: No such file or directory\n"


def test_a_failed_run_leaves_the_old_file_untouched(tmp_path):
    (tmp_path / "user-mapping.xml").write_text("old")
    result = usermapper("-i", str(EXAMPLES / "invalid" / "bad-protocol.yaml"), cwd=tmp_path)
    assert result.returncode == 2
    assert (tmp_path / "user-mapping.xml").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["user-mapping.xml"]


def test_an_unwritable_output_names_the_file_asked_for(tmp_path):
    result = usermapper("-i", str(CLASSROOM), "-o", "missing/out.xml", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.decode() == "usermapper: cannot write missing/out.xml: No such file or directory\n"


def test_no_file_is_written_when_the_credentials_cannot_be(tmp_path):
    result = usermapper("-i", str(CLASSROOM), "-o", "out.xml", "--credentials", "missing/people.csv", cwd=tmp_path)
    assert result.returncode == 1
    assert "missing/people.csv" in result.stderr.decode()
    assert list(tmp_path.iterdir()) == []


def test_a_closed_pipe_ends_the_run_quietly(tmp_path):
    process = subprocess.Popen([sys.executable, "-m", "usermapper", "-i", str(EXAMPLES / "big-lab.yaml"), "-o", "-"],
                               cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
    assert process.stdout.readline() == b'<?xml version="1.0" encoding="UTF-8"?>\n'
    process.stdout.close()
    assert process.stderr.read() == b""
    assert process.wait(timeout=60) == 1


def test_a_summary_into_a_closed_pipe_ends_quietly(tmp_path):
    process = subprocess.Popen([sys.executable, "-m", "usermapper", "-i", str(CLASSROOM), "--check"],
                               cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
    process.stdout.close()
    assert process.stderr.read() == b""
    assert process.wait(timeout=60) == 1


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_summary_that_cannot_be_written_is_said_so(tmp_path):
    with open("/dev/full", "wb") as full:
        result = subprocess.run([sys.executable, "-m", "usermapper", "-i", str(CLASSROOM), "--check"], cwd=tmp_path,
                                stdout=full, stderr=subprocess.PIPE, env=ENV, timeout=60)
    assert result.returncode == 1
    assert result.stderr == b"usermapper: cannot write standard output: No space left on device\n"


def mode_of(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_a_replaced_file_keeps_its_mode_and_the_credentials_sheet_is_private(tmp_path):
    """/etc/guacamole/user-mapping.xml may be readable by Guacamole alone; passwords by their owner alone."""
    (tmp_path / "user-mapping.xml").write_text("old")
    os.chmod(tmp_path / "user-mapping.xml", 0o640)
    (tmp_path / "passwords.csv").write_text("old")
    os.chmod(tmp_path / "passwords.csv", 0o644)
    result = usermapper("-i", str(CLASSROOM), "--credentials", "passwords.csv", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert mode_of(tmp_path / "user-mapping.xml") == 0o640
    assert mode_of(tmp_path / "passwords.csv") == 0o600


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root, to give files to another user")
def test_a_replaced_file_keeps_its_owner_and_group(tmp_path):
    """A Tomcat install's user-mapping.xml is 0640 of group tomcat: root's run gave it root's group, and
    Guacamole could read it no more."""
    for name in ("user-mapping.xml", "passwords.csv"):
        (tmp_path / name).write_text("old")
        os.chown(tmp_path / name, 65534, 65533)
    os.chmod(tmp_path / "user-mapping.xml", 0o640)
    result = usermapper("-i", str(CLASSROOM), "--credentials", "passwords.csv", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for name, mode in (("user-mapping.xml", 0o640), ("passwords.csv", 0o600)):
        info = (tmp_path / name).stat()
        assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (65534, 65533, mode)
    assert (tmp_path / "passwords.csv").read_text().startswith("type,username,password")


@pytest.mark.parametrize("umask, expected", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_a_new_file_gets_the_umasks_mode(tmp_path, umask, expected):
    result = subprocess.run(f"umask {umask:03o} && exec {sys.executable} -m usermapper -i {CLASSROOM} "
                            f"-o out.xml --credentials new.csv", shell=True, cwd=tmp_path, env=ENV,
                            capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert mode_of(tmp_path / "out.xml") == expected
    assert mode_of(tmp_path / "new.csv") == 0o600


def test_files_are_written_beside_their_target_and_nothing_else_is_left(tmp_path):
    os.symlink(tmp_path / "elsewhere", tmp_path / "link.xml")  # a link where the temporary file might go
    result = usermapper("-i", str(CLASSROOM), "-o", "out.xml", "--credentials", "new.csv", "-q", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.xml", "new.csv", "out.xml"]
    assert not (tmp_path / "elsewhere").exists()


def test_quiet_prints_nothing_on_success(tmp_path):
    result = usermapper("-i", str(CLASSROOM), "-o", "out.xml", "-q", cwd=tmp_path)
    assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")


def test_a_sheet_holding_formula_cells_is_exact_and_a_warning_names_them_even_when_quiet(tmp_path):
    config = CLASSROOM.read_text().replace("password: Lab-Trainer-2026", "password: '@Lab-Trainer'")
    result = usermapper("-i", "-", "-o", "out.xml", "--credentials", "sheet.csv", "-q", cwd=tmp_path,
                        stdin=config.encode())
    assert result.returncode == 0
    assert result.stderr.decode() == ("usermapper: warning: sheet.csv: a spreadsheet would run 1 cell of the "
                                      "credentials sheet as formulas (row 2 password); they are written exactly, so "
                                      "open the sheet with every column as text\n")
    assert (tmp_path / "sheet.csv").read_text().splitlines()[1] == "trainers,trainer1,@Lab-Trainer"


def test_the_summary_line_says_where_the_passwords_went(tmp_path):
    result = usermapper("-i", str(CLASSROOM), "-o", "-", "--credentials", "people.csv", cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.startswith(b"<?xml")
    assert result.stderr == (b"usermapper: wrote 20,314 bytes to standard output: 13 users, 65 connections; "
                             b"passwords in people.csv\n")


@pytest.mark.parametrize("encoding", ["sha256", "md5"])
def test_hashed_random_passwords_without_a_credentials_sheet_are_refused(tmp_path, encoding):
    """The file would hold only hashes of passwords nobody ever sees: nobody could log in."""
    config = CLASSROOM.read_text().replace("password: random", f"password: random\n        password_encoding: {encoding}")
    result = usermapper("-i", "-", "-o", "out.xml", cwd=tmp_path, stdin=config.encode())
    assert result.returncode == 2
    assert result.stderr.decode() == ("usermapper: <stdin>: users.students: random passwords stored only as hashes "
                                      "would reach nobody; add --credentials FILE to write them down\n")
    assert list(tmp_path.iterdir()) == []
    written = usermapper("-i", "-", "-o", "out.xml", "--credentials", "p.csv", cwd=tmp_path, stdin=config.encode())
    assert written.returncode == 0 and (tmp_path / "p.csv").exists()


@pytest.mark.parametrize("output, credentials", [("-", "-"), ("out.xml", "out.xml"), ("out.xml", "./sub/../out.xml")])
def test_the_file_and_the_sheet_cannot_go_to_the_same_place(tmp_path, output, credentials):
    (tmp_path / "sub").mkdir()
    result = usermapper("-i", str(CLASSROOM), "-o", output, "--credentials", credentials, cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, b"")
    assert "usermapper: -o " in result.stderr.decode()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sub"]


# The command line is the engine alone: it never loads the web app's modules or the storage SDK.
WEB_MODULES = ("usermapper.web", "azure", "werkzeug", "zstandard")
LOADED = "import sys; from usermapper.cli import main; status = main(sys.argv[1:]); print(*sorted(sys.modules))"


def modules_loaded_by(*args: str, cwd: Path) -> set[str]:
    """The modules and packages loaded by one run with these arguments."""
    result = subprocess.run([sys.executable, "-c", LOADED, *args], cwd=cwd, capture_output=True, env=ENV, timeout=60)
    assert result.returncode == 0, result.stderr
    names = result.stdout.decode().split()
    return set(names) | {name.split(".")[0] for name in names}


def test_no_run_of_the_command_line_loads_the_web_app(tmp_path):
    runs = [("-i", str(CLASSROOM), "-o", "out.xml", "--credentials", "c.csv", "-q"),
            ("-i", str(CLASSROOM), "-o", "i.json", "--format", "import-json", "--passwords-sql", "mysql", "p.sql", "-q"),
            ("-i", str(CLASSROOM), "--check")]
    for args in runs:
        loaded = modules_loaded_by(*args, cwd=tmp_path)
        assert "usermapper.generate" in loaded
        assert loaded.isdisjoint(WEB_MODULES), (args, sorted(loaded.intersection(WEB_MODULES)))

# Where each file goes: a regular file is replaced; a device, a FIFO or a terminal is written into, never
# replaced; a link's target is written, the link kept; a directory, a disk or a socket is refused.

BIG_LAB = EXAMPLES / "big-lab.yaml"  # 50,000 connections: 17 MB of XML


def listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def temporaries(*directories: Path) -> list[Path]:
    return [p for d in directories for p in d.iterdir() if p.name.startswith(".usermapper-")]


def device_node(path: Path, major: int, minor: int, kind: int = stat.S_IFCHR) -> Path:
    """A device node in the test's own directory (as root); a character device is opened once to see that
    this filesystem lets it be used."""
    try:
        os.mknod(path, kind | 0o666, os.makedev(major, minor))
        if kind == stat.S_IFCHR:
            os.close(os.open(path, os.O_WRONLY))
    except PermissionError:
        pytest.skip("making and opening a device node needs root and a filesystem mounted without nodev")
    return path


def is_device(path: Path, kind, major: int, minor: int) -> bool:
    info = path.lstat()
    return kind(info.st_mode) and (os.major(info.st_rdev), os.minor(info.st_rdev)) == (major, minor)


def test_a_character_device_is_written_into_and_kept(tmp_path):
    """As `cp` and `sort -o` do: the run before replaced /dev/null with a regular 0666 file holding the XML.
    A character device may take several outputs: all of them into /dev/null is no mix-up."""
    null = device_node(tmp_path / "null", 1, 3)
    result = usermapper("-i", str(CLASSROOM), "-o", "null", "--credentials", "null", "--passwords-sql", "mysql",
                        "null", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr.decode().startswith("usermapper: wrote 20,314 bytes to null: 13 users")
    assert is_device(null, stat.S_ISCHR, 1, 3)
    assert listing(tmp_path) == ["null"]


@pytest.mark.parametrize("full_one", ["-o", "--credentials", "--passwords-sql"])
def test_a_full_device_fails_the_run_and_no_file_is_replaced(tmp_path, full_one):
    """Files replaced and a device written into are committed together: the device written last, the other
    files renamed into place only once it took the whole of its output. The run before replaced the sheet
    with passwords no file held."""
    full = device_node(tmp_path / "full", 1, 7)
    names = {"-o": "out.xml", "--credentials": "people.csv", "--passwords-sql": "p.sql"}
    names[full_one] = "full"
    for name in names.values():
        if name != "full":
            (tmp_path / name).write_text("old")
    result = usermapper("-i", str(CLASSROOM), "-o", names["-o"], "--credentials", names["--credentials"],
                        "--passwords-sql", "postgresql", names["--passwords-sql"], cwd=tmp_path)
    assert (result.returncode, result.stderr) == (1, b"usermapper: cannot write full: No space left on device\n")
    assert is_device(full, stat.S_ISCHR, 1, 7)
    assert listing(tmp_path) == sorted(names.values())
    assert all((tmp_path / name).read_text() == "old" for name in names.values() if name != "full")


def read_in_a_thread(fifo: Path) -> dict:
    """Read the FIFO whole in a thread of its own: ``read["data"]`` once it is done."""
    read: dict = {}
    threading.Thread(target=lambda: read.setdefault("data", fifo.read_bytes()), daemon=True).start()
    return read


def test_a_fifo_is_written_into_and_kept(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    read = read_in_a_thread(fifo)
    result = usermapper("-i", str(CLASSROOM), "-o", "fifo", "--credentials", "people.csv", "-q", cwd=tmp_path)
    assert (result.returncode, result.stderr) == (0, b"")
    for _ in range(600):
        if "data" in read:
            break
        time.sleep(0.1)
    users = guacamole_reader.read(read["data"])
    rows = list(csv.DictReader(io.StringIO((tmp_path / "people.csv").read_text(encoding="utf-8"))))
    assert [r["username"] for r in rows] == list(users) and len(users) == 13
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert listing(tmp_path) == ["fifo", "people.csv"]


def test_a_link_to_a_file_keeps_the_link_and_replaces_its_target_in_the_targets_directory(tmp_path):
    real = tmp_path / "etc"
    real.mkdir()
    (real / "user-mapping.xml").write_text("old")
    os.chmod(real / "user-mapping.xml", 0o640)
    os.symlink("etc/user-mapping.xml", tmp_path / "link.xml")
    os.symlink("etc/new.csv", tmp_path / "dangling.csv")  # a link to no file yet: the file is made there
    result = usermapper("-i", str(CLASSROOM), "-o", "link.xml", "--credentials", "dangling.csv", "-q", cwd=tmp_path)
    assert (result.returncode, result.stderr) == (0, b"")
    assert os.readlink(tmp_path / "link.xml") == "etc/user-mapping.xml"
    assert os.readlink(tmp_path / "dangling.csv") == "etc/new.csv"
    assert len(guacamole_reader.read((real / "user-mapping.xml").read_bytes())) == 13
    assert mode_of(real / "user-mapping.xml") == 0o640 and mode_of(real / "new.csv") == 0o600
    assert (real / "new.csv").read_text().startswith("type,username,password")
    assert listing(tmp_path) == ["dangling.csv", "etc", "link.xml"]
    assert listing(real) == ["new.csv", "user-mapping.xml"]


def test_a_link_to_a_device_or_to_standard_output_is_written_through(tmp_path):
    """The run before replaced a link to /proc/self/fd/1 with a file: standard output got nothing."""
    null = device_node(tmp_path / "null", 1, 3)
    os.symlink("null", tmp_path / "quiet.xml")
    os.symlink("/proc/self/fd/1", tmp_path / "stdout.xml")
    result = usermapper("-i", str(CLASSROOM), "-o", "stdout.xml", "--credentials", "quiet.xml", "-q", cwd=tmp_path)
    assert (result.returncode, result.stderr) == (0, b"")
    assert len(guacamole_reader.read(result.stdout)) == 13
    assert os.readlink(tmp_path / "stdout.xml") == "/proc/self/fd/1" and os.readlink(tmp_path / "quiet.xml") == "null"
    assert is_device(null, stat.S_ISCHR, 1, 3)
    assert listing(tmp_path) == ["null", "quiet.xml", "stdout.xml"]


@pytest.mark.parametrize("refused_one", ["-o", "--credentials", "--passwords-sql"])
@pytest.mark.parametrize("kind, reason", [
    ("directory", "Is a directory"),
    ("disk", "a block device, which usermapper never writes"),
    ("socket", "a socket, which usermapper never writes")])
def test_a_directory_a_disk_or_a_socket_is_refused_before_anything_is_written(tmp_path, refused_one, kind, reason):
    """The run before replaced the sheet, then failed on the directory: new passwords that match no file."""
    refused = tmp_path / kind
    if kind == "directory":
        refused.mkdir()
    elif kind == "disk":
        device_node(refused, 7, 0, stat.S_IFBLK)  # a loop device's numbers: never opened
    else:
        os.mknod(refused, stat.S_IFSOCK | 0o666)
    names = {"-o": "out.xml", "--credentials": "people.csv", "--passwords-sql": "p.sql"}
    names[refused_one] = kind
    for name in names.values():
        if name != kind:
            (tmp_path / name).write_text("old")
    result = usermapper("-i", str(CLASSROOM), "-o", names["-o"], "--credentials", names["--credentials"],
                        "--passwords-sql", "mysql", names["--passwords-sql"], cwd=tmp_path)
    assert (result.returncode, result.stderr.decode()) == (1, f"usermapper: cannot write {kind}: {reason}\n")
    assert listing(tmp_path) == sorted(names.values())
    assert all((tmp_path / name).read_text() == "old" for name in names.values() if name != kind)
    kinds = {"directory": stat.S_ISDIR, "disk": stat.S_ISBLK, "socket": stat.S_ISSOCK}
    assert kinds[kind](refused.lstat().st_mode)


# One run to standard output first, as root: it imports every module a run needs (the standard library may
# be where nobody can read it); then the run asked for, as nobody.
AS_NOBODY = ("import os, sys; from usermapper.cli import main; main(['-i', sys.argv[2], '-o', '-', '-q']); "
             "os.setgid(65534); os.setuid(65534); sys.exit(main(sys.argv[1:]))")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root, to run as another user")
def test_a_file_of_another_owner_in_a_sticky_directory_is_refused_before_anything_is_renamed(tmp_path):
    """In a directory like /tmp, only a file's owner may replace it: the rename would fail. That is checked
    before any file is renamed. The run before replaced the sheet first, then failed; here it fails sooner:
    it made every path absolute, and this directory's parents are closed to nobody."""
    os.chmod(tmp_path, 0o711)
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    shutil.copy(CLASSROOM, shared / "lab.yaml")
    os.chmod(shared / "lab.yaml", 0o644)
    (shared / "user-mapping.xml").write_text("old")
    os.chmod(shared / "user-mapping.xml", 0o666)  # root's, and anyone may write into it, but not replace it
    (shared / "sheet.csv").write_text("old")
    os.chown(shared / "sheet.csv", 65534, 65534)
    result = subprocess.run([sys.executable, "-c", AS_NOBODY, "-i", "shared/lab.yaml", "-o", "shared/user-mapping.xml",
                             "--credentials", "shared/sheet.csv"], cwd=tmp_path, capture_output=True, env=ENV,
                            timeout=60)
    assert (result.returncode, result.stderr) == (
        1, b"usermapper: cannot write shared/user-mapping.xml: Operation not permitted\n")
    assert (shared / "user-mapping.xml").read_text() == "old" and (shared / "sheet.csv").read_text() == "old"
    assert listing(shared) == ["lab.yaml", "sheet.csv", "user-mapping.xml"]


@pytest.mark.parametrize("args, message", [
    (["-o", "lab.yaml"], "-o and -i both name lab.yaml; the file would overwrite the config"),
    (["-o", "./sub/../lab.yaml"], ("-o and -i both name lab.yaml (as ./sub/../lab.yaml); the file would "
                                   "overwrite the config")),
    (["-o", "link.yaml"], "-o and -i both name lab.yaml (as link.yaml); the file would overwrite the config"),
    (["-o", "hard.yaml"], "-o and -i both name lab.yaml (as hard.yaml); the file would overwrite the config"),
    (["-o", "x.xml", "--credentials", "lab.yaml"], ("--credentials and -i both name lab.yaml; the sheet would "
                                                    "overwrite the config")),
    (["-o", "x.xml", "--passwords-sql", "mysql", "lab.yaml"], ("--passwords-sql and -i both name lab.yaml; the "
                                                               "script would overwrite the config")),
    (["-o", "x.xml", "--credentials", "c.csv", "--passwords-sql", "mysql", "c.csv"],
     "--credentials and --passwords-sql both name c.csv; the script would overwrite the sheet")])
def test_an_output_naming_the_input_or_another_output_is_refused_before_anything_is_written(tmp_path, args, message):
    """The run before overwrote the config with the XML and exited 0."""
    config = tmp_path / "lab.yaml"
    shutil.copy(CLASSROOM, config)
    (tmp_path / "sub").mkdir()
    os.symlink("lab.yaml", tmp_path / "link.yaml")
    os.link(config, tmp_path / "hard.yaml")
    before = listing(tmp_path)
    result = usermapper("-i", "lab.yaml", *args, cwd=tmp_path)
    assert (result.returncode, result.stdout, result.stderr.decode()) == (2, b"", f"usermapper: {message}\n")
    assert config.read_bytes() == CLASSROOM.read_bytes()
    assert listing(tmp_path) == before


def test_an_output_naming_the_file_on_standard_input_is_refused(tmp_path):
    config = tmp_path / "lab.yaml"
    shutil.copy(CLASSROOM, config)
    with open(config, "rb") as stdin:
        result = subprocess.run([sys.executable, "-m", "usermapper", "-i", "-", "-o", "out.xml", "--credentials",
                                 "lab.yaml"], stdin=stdin, cwd=tmp_path, capture_output=True, env=ENV, timeout=60)
    assert (result.returncode, result.stderr) == (
        2, b"usermapper: --credentials names the file on standard input; the sheet would overwrite the config\n")
    assert config.read_bytes() == CLASSROOM.read_bytes()
    assert listing(tmp_path) == ["lab.yaml"]


def usermapper_after(prelude: str, *args: str) -> list[str]:
    """The command that runs ``python -m usermapper`` with ``args`` once ``prelude`` has run in its process."""
    return [sys.executable, "-c", f"{prelude}; import runpy; runpy.run_module('usermapper', run_name='__main__')",
            *args]


HALF_A_GIGABYTE = "import resource; resource.setrlimit(resource.RLIMIT_AS, (512 << 20, 512 << 20))"
# as in a terminal, even where this test run ignores SIGINT (a background job)
INTERRUPTIBLE = "import signal; signal.signal(signal.SIGINT, signal.SIG_DFL)"


@pytest.mark.parametrize("source", ["-i /dev/zero", "-i - < /dev/zero"])
def test_an_endless_input_is_read_no_further_than_the_limit(tmp_path, source):
    """The run before read 992 MB of it, then failed with a MemoryError traceback."""
    if not os.path.exists("/dev/zero"):
        pytest.skip("needs /dev/zero")
    path = "/dev/zero" if source == "-i /dev/zero" else "-"
    with open(os.devnull if path == "/dev/zero" else "/dev/zero", "rb") as stdin:
        started = time.monotonic()
        result = subprocess.run(usermapper_after(HALF_A_GIGABYTE, "-i", path, "-o", "out.xml"), stdin=stdin,
                                cwd=tmp_path, capture_output=True, env=ENV, timeout=60)
        took = time.monotonic() - started
    name = "<stdin>" if path == "-" else path
    refusal = f"{name}:0:0: the config is larger than 67,108,864 bytes, the largest accepted; it was read no further\n"
    assert (result.returncode, result.stdout, result.stderr.decode()) == (2, b"", refusal)
    assert took < 10
    assert listing(tmp_path) == []


def test_a_file_larger_than_the_limit_is_refused_by_its_size_unread(tmp_path):
    (tmp_path / "huge.yaml").write_bytes(b"")
    os.truncate(tmp_path / "huge.yaml", 1 << 30)  # a gigabyte, sparse
    result = subprocess.run(usermapper_after(HALF_A_GIGABYTE, "-i", "huge.yaml", "-o", "out.xml"), cwd=tmp_path,
                            capture_output=True, env=ENV, timeout=60)
    assert (result.returncode, result.stderr.decode()) == (
        2, "huge.yaml:0:0: the config is 1,073,741,824 bytes; the largest accepted is 67,108,864 bytes\n")
    assert listing(tmp_path) == ["huge.yaml"]


def wait_until(condition, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while not condition() and process.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.005)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_during_a_big_write_leaves_no_temporary_file_and_replaces_nothing(tmp_path, signum):
    """The XML goes to a pipe nobody reads past its first bytes; the sheet waits in its temporary file to be
    renamed once the XML is whole. The run before replaced the sheet first, and SIGTERM during a big write
    left the temporary file of the XML behind (SIGINT: a KeyboardInterrupt traceback)."""
    (tmp_path / "people.csv").write_text("old")
    process = subprocess.Popen(usermapper_after(INTERRUPTIBLE, "-i", str(BIG_LAB), "-o", "-", "--credentials",
                                                "people.csv"),
                               cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
    assert process.stdout.read(5) == b"<?xml"
    process.send_signal(signum)
    assert process.wait(timeout=60) == -signum
    assert process.stderr.read() == b""
    assert listing(tmp_path) == ["people.csv"] and (tmp_path / "people.csv").read_text() == "old"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_while_a_fifo_waits_for_its_reader_leaves_no_temporary_file(tmp_path, signum):
    """The XML is written whole to its temporary file, then the run waits for someone to read the sheet's
    FIFO. The run before replaced the FIFO with a file."""
    (tmp_path / "out.xml").write_text("old")
    os.mkfifo(tmp_path / "sheet")
    process = subprocess.Popen(usermapper_after(INTERRUPTIBLE, "-i", str(BIG_LAB), "-o", "out.xml",
                                                "--credentials", "sheet"),
                               cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
    wait_until(lambda: temporaries(tmp_path) or not stat.S_ISFIFO((tmp_path / "sheet").lstat().st_mode), process)
    process.send_signal(signum)
    assert process.wait(timeout=60) == -signum
    assert process.stderr.read() == b""
    assert listing(tmp_path) == ["out.xml", "sheet"]
    assert (tmp_path / "out.xml").read_text() == "old" and stat.S_ISFIFO((tmp_path / "sheet").lstat().st_mode)
