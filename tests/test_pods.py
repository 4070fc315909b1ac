"""Pods: the five shapes of docs/config.md's pods section, with their exact users, names and hostnames, read
back as Guacamole reads them; and the pod shapes that cannot work, refused with their places."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import guacamole_reader
from whole_tree import whole_tree
from usermapper.outputs import user_mapping
from usermapper.lab import ConfigError, read_config
from usermapper.outputs.credentials import credentials_sheet
from usermapper.lab.expand import expand
from usermapper.outputs.summary import lab_summary
from usermapper.outputs.user_mapping import file_size, user_mapping_bytes

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def generated(text: str) -> dict[str, list[tuple[str, str]]]:
    """Each username with its (connection name, hostname) list, from the written file; every user's
    password is checked to log in, and the predicted size to be the size written."""
    lab = read_config(text)
    mapping = expand(lab)
    xml = user_mapping_bytes(mapping)
    assert len(xml) == file_size(lab)
    users = guacamole_reader.read(xml)
    assert all(guacamole_reader.authenticates(users, u.username, u.password) for u in mapping.users)
    return {name: [(c, params.get("hostname")) for c, (_, params) in connections.items()]
            for name, (_, _, connections) in users.items()}


def students(count: int) -> str:
    return (f"    students: {{quantity: {count}, username_prefix: student, username_suffix: '01', "
            f"password: random}}\n")


def test_one_desktop_each_numbered_across_owners():  # shapes 1 and 5
    text = ("users:\n" + students(20) +
            "devices:\n"
            "    desktops: {per_user: 1, numbering: across_owners, name_prefix: Desktop, name_suffix: '',\n"
            "               hostname_prefix: 10.0.0., hostname_suffix: '101', parameters: {protocol: rdp}}\n")
    assert generated(text) == {f"student{k:02d}": [("Desktop", f"10.0.0.{100 + k}")] for k in range(1, 21)}


def test_a_pod_in_a_subnet_of_its_own_and_by_dns_name():  # shape 2
    text = ("pods: {start: 7}\n"
            "users:\n" + students(2) +
            "devices:\n"
            "    routers: {per_user: 1, name_prefix: Router, name_suffix: '', hostname_prefix: '10.0.{pod}.',\n"
            "              hostname_suffix: '1', parameters: {protocol: ssh}}\n"
            "    pcs: {per_user: 2, name_prefix: PC, name_suffix: '1', hostname_prefix: '10.0.{pod}.',\n"
            "          hostname_suffix: '10', parameters: {protocol: rdp}}\n"
            "    kali: {per_user: 1, name_prefix: Kali, name_suffix: '', hostname_prefix: 'pod{pod:02}-kali.lab',\n"
            "           hostname_suffix: '', parameters: {protocol: ssh}}\n")
    assert generated(text) == {
        "student01": [("Router", "10.0.7.1"), ("PC1", "10.0.7.10"), ("PC2", "10.0.7.11"), ("Kali", "pod07-kali.lab")],
        "student02": [("Router", "10.0.8.1"), ("PC1", "10.0.8.10"), ("PC2", "10.0.8.11"), ("Kali", "pod08-kali.lab")],
    }


def test_shared_and_own_devices_mixed_in_config_order():  # shape 3
    text = ("users:\n" + students(2) +
            "devices:\n"
            "    pcs: {per_user: 1, name_prefix: PC, name_suffix: '', hostname_prefix: '10.1.{pod}.',\n"
            "          hostname_suffix: '10', parameters: {protocol: rdp}}\n"
            "    jump: {quantity: 1, name_prefix: Jump, name_suffix: '',\n"
            "           parameters: {protocol: ssh, hostname: jump}}\n")
    assert generated(text) == {"student01": [("PC", "10.1.1.10"), ("Jump", "jump")],
                               "student02": [("PC", "10.1.2.10"), ("Jump", "jump")]}


def test_the_pods_example_with_an_instructor():  # shapes 2, 3 and 4
    files = generated((EXAMPLES / "pods.yaml").read_text())
    assert list(files) == ["instructor"] + [f"student{k:02d}" for k in range(1, 21)]
    assert files["student07"] == [("Jump", "10.0.0.5"), ("Router", "10.0.7.1"), ("Switch", "10.0.7.2"),
                                  ("PC", "10.0.7.10")]
    instructor = files["instructor"]
    assert len(instructor) == 1 + 3 * 20
    assert instructor[:3] == [("Jump", "10.0.0.5"), ("student01 Router", "10.0.1.1"), ("student02 Router", "10.0.2.1")]
    assert ("student07 PC", "10.0.7.10") in instructor and instructor[-1] == ("student20 PC", "10.0.20.10")


def test_two_instructor_types_see_the_same_list_and_owners_count_on_across_user_types():  # shapes 4 and 5
    text = ("users:\n"
            "    leads: {quantity: 1, username_prefix: lead, username_suffix: '', password: random, pods: all}\n"
            "    morning: {quantity: 2, username_prefix: am, username_suffix: '1', password: random}\n"
            "    helpers: {quantity: 2, username_prefix: helper, username_suffix: '1', password: random,\n"
            "              pods: all, devices: [pcs]}\n"
            "    evening: {quantity: 1, username_prefix: pm, username_suffix: '1', password: random}\n"
            "devices:\n"
            "    pcs: {per_user: 1, name_prefix: 'pc{pod:03}', name_suffix: '', hostname_prefix: 'pc{pod}.lab',\n"
            "          hostname_suffix: '', parameters: {protocol: vnc}}\n")
    files = generated(text)
    view = [("am1 pc001", "pc1.lab"), ("am2 pc002", "pc2.lab"), ("pm1 pc003", "pc3.lab")]
    assert files == {"lead": view, "am1": [("pc001", "pc1.lab")], "am2": [("pc002", "pc2.lab")],
                     "helper1": view, "helper2": view, "pm1": [("pc003", "pc3.lab")]}


MARKUP_LAB = yaml.safe_dump({
    "users": {
        "leads": {"quantity": 2, "username_prefix": 'l<&>"', "username_suffix": "1", "password": 'p&"<',
                  "pods": "all"},
        "students": {"quantity": 12, "username_prefix": "s'é&<", "username_suffix": "01", "password": "random",
                     "password_encoding": "md5"},
        "helpers": {"quantity": 1, "username_prefix": 'h"ü', "username_suffix": "", "password": "x",
                    "pods": "all", "devices": ["pcs"]}},
    "devices": {
        "pcs": {"per_user": 2, "name_prefix": 'PC<{pod:03}>&"', "name_suffix": "1",
                "hostname_prefix": "pc{pod}.é&<lab>.{pod:02}", "hostname_suffix": "0",
                "parameters": {"protocol": "rdp", "port": 3389, "domain": '%d %s & <"é">'}},
        "kali": {"per_user": 1, "numbering": "across_owners", "name_prefix": '"Kali" ', "name_suffix": "1",
                 "hostname_prefix": "10.0.0.", "hostname_suffix": "100", "parameters": {"protocol": "ssh"}},
        "jump": {"quantity": 1, "name_prefix": "J&", "name_suffix": "", "parameters": {"protocol": "ssh",
                                                                                      "hostname": "j"}}}},
    allow_unicode=True, sort_keys=False)


@pytest.mark.parametrize("kept", [user_mapping.VIEW_KEPT_BYTES, 0])
def test_pods_with_markup_in_every_name_are_written_as_lxml_writes_the_whole_tree(monkeypatch, kept):
    """Names, hostnames, usernames and parameters holding ``<>&"'`` and non-ASCII; three instructors,
    so the view of every pod is kept for the next ones, or (kept 0) made again for each."""
    monkeypatch.setattr(user_mapping, "VIEW_KEPT_BYTES", kept)
    lab = read_config(MARKUP_LAB)
    mapping = expand(lab)
    xml = user_mapping_bytes(mapping)
    assert xml == whole_tree(mapping)
    assert len(xml) == file_size(lab)
    assert 'name="s\'é&amp;&lt;01 PC&lt;001&gt;&amp;&quot;1"'.encode() in xml  # an instructor's, labelled


def test_a_lab_without_pods_is_unchanged():
    lab = read_config((EXAMPLES / "original-format.yaml").read_text())
    assert not lab.has_pods and lab.connection_count == 96


def refusals(text: str) -> list[tuple[str, int, str]]:
    with pytest.raises(ConfigError) as refused:
        read_config(text)
    return [(p.path, p.line, p.message) for p in refused.value.problems]


def test_pod_shapes_that_cannot_work_are_refused_all_at_once_with_their_lines():
    text = ("users:\n"
            "    teachers: {quantity: 1, username_prefix: t, username_suffix: '1', password: x, pods: all,\n"
            "               devices: [jump]}\n"
            "    students: {quantity: 300, username_prefix: s, username_suffix: '001', password: x,\n"
            "               devices: [jump, pcs, same]}\n"
            "devices:\n"
            "    jump: {quantity: 1, name_prefix: 'J{pod}', name_suffix: '1', hostname_prefix: '10.0.0.',\n"
            "           hostname_suffix: '1', parameters: {protocol: ssh}}\n"
            "    pcs: {per_user: 1, name_prefix: PC, name_suffix: '1', hostname_prefix: '10.0.{pod}.',\n"
            "          hostname_suffix: '1', parameters: {protocol: ssh}}\n"
            "    same: {per_user: 2, name_prefix: S, name_suffix: '1', hostname_prefix: '10.9.9.',\n"
            "           hostname_suffix: '1', parameters: {protocol: ssh}}\n"
            "    nobody: {per_user: 1, name_prefix: N, name_suffix: '1', hostname_prefix: 'n{pod:2}',\n"
            "             hostname_suffix: '1', parameters: {protocol: ssh}}\n")
    found = refusals(text)
    paths = {(path, line) for path, line, _ in found}
    assert ("users.teachers.pods", 2) in paths  # pods: all, but its devices hold no pod type
    assert ("devices.jump.name_prefix", 7) in paths  # {pod} in a shared type
    assert ("devices.pcs.hostname_prefix", 9) in paths  # 10.0.300.1 for the last owner
    assert ("devices.same.hostname_prefix", 11) in paths  # 300 owners on the same two hosts
    assert ("devices.nobody.per_user", 13) in paths  # nobody owns it
    assert ("devices.nobody.hostname_prefix", 13) in paths  # {pod:2} is not a placeholder
    message = next(m for p, _, m in found if p == "devices.pcs.hostname_prefix")
    assert "10.0.300.1 for s300" in message


def test_names_twice_in_an_instructors_list_are_refused():
    text = ("users:\n"
            "    teachers: {quantity: 1, username_prefix: t, username_suffix: '', password: x, pods: all}\n"
            "    students: {quantity: 1, username_prefix: s, username_suffix: '', password: x}\n"
            "devices:\n"
            "    shared: {quantity: 1, name_prefix: s PC, name_suffix: '', parameters: {protocol: ssh, hostname: h}}\n"
            "    pcs: {per_user: 1, name_prefix: PC, name_suffix: '', hostname_prefix: 'p{pod}', hostname_suffix: '',\n"
            "          parameters: {protocol: ssh}}\n")
    assert refusals(text) == [("users.teachers.pods", 2, "this user type's list would hold 's PC' twice; Guacamole "
                                                         "would keep only one of them")]


def test_an_empty_suffix_is_for_one_only_and_quantity_or_per_user_not_both():
    text = ("users:\n" + students(2) +
            "devices:\n"
            "    pcs: {per_user: 2, quantity: 1, name_prefix: PC, name_suffix: '', hostname_prefix: '10.0.{pod}.',\n"
            "          hostname_suffix: '1', parameters: {protocol: rdp}}\n"
            "    r: {quantity: 1, numbering: across_owners, name_prefix: R, name_suffix: '1',\n"
            "        parameters: {protocol: rdp, hostname: r}}\n")
    paths = {(path, line) for path, line, _ in refusals(text)}
    assert paths == {("devices.pcs.quantity", 4), ("devices.pcs.name_suffix", 4), ("devices.r.numbering", 6)}


def test_limits_count_the_expanded_pods():
    text = ("users:\n" + students(2000) +
            "    teachers: {quantity: 1, username_prefix: t, username_suffix: '', password: x, pods: all}\n"
            "devices:\n"
            "    pcs: {per_user: 1, name_prefix: PC, name_suffix: '', hostname_prefix: 'pc{pod}',\n"
            "          hostname_suffix: '',\n"
            "          parameters: {protocol: rdp}}\n")
    found = refusals(text)
    assert [(p, line) for p, line, _ in found] == [("devices", 5)]
    assert "2,000 devices" in found[0][2]


def test_the_desktops_example():
    files = generated((EXAMPLES / "pods-desktops.yaml").read_text())
    assert files["student07"] == [("Desktop07", "10.0.0.107"), ("Kali", "pod07-kali.lab.example")]
    assert files["student20"] == [("Desktop20", "10.0.0.120"), ("Kali", "pod20-kali.lab.example")]
    assert len(files["trainer"]) == 40 and files["trainer"][0] == ("student01 Desktop01", "10.0.0.101")


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "usermapper", *args], cwd=cwd, capture_output=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(EXAMPLES.parent)})


def test_the_command_line_checks_prints_the_pods_and_writes_whose_devices_are_whose(tmp_path):
    check = run_cli("-i", str(EXAMPLES / "pods.yaml"), "--check", cwd=tmp_path)
    assert check.returncode == 0, check.stderr
    assert check.stdout.decode().splitlines() == [
        f"{EXAMPLES / 'pods.yaml'}: valid: 21 users in 2 types, 61 devices in 4 types, 141 connections",
        "  instructors: 1 user (instructor), 61 connections each: jumphost; every pod's routers, switches, pcs, "
        "each named after its owner",
        "  students: 20 users (student01 to student20), 4 connections each: jumphost; their own pod's routers, "
        "switches, pcs (pods 1 to 20)",
        "  shared devices: jumphost (1 ssh)",
        "  pods: 20, numbered 1 to 20 in config order, each holding routers (1 ssh), switches (1 telnet), pcs (1 rdp)"]
    result = run_cli("-i", str(EXAMPLES / "pods.yaml"), "-o", "out.xml", "--credentials", "sheet.csv", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    users = guacamole_reader.read((tmp_path / "out.xml").read_bytes())
    rows = list(csv.DictReader(io.StringIO((tmp_path / "sheet.csv").read_text())))
    assert [r["username"] for r in rows] == list(users)
    assert all(guacamole_reader.authenticates(users, r["username"], r["password"]) for r in rows)
    assert rows[0]["devices"] == ""  # the instructor owns none
    assert rows[7]["devices"] == "Router=10.0.7.1; Switch=10.0.7.2; PC=10.0.7.10"


def test_the_summary_says_which_pods_hold_what_when_owners_of_different_types_own_different_pods(tmp_path):
    lab = tmp_path / "lab.yaml"
    lab.write_text("""
users:
  students: {quantity: 2, username_prefix: student, username_suffix: '1', password: random, devices: [pcs]}
  managers: {quantity: 1, username_prefix: pm, username_suffix: '1', password: random, devices: [desktops]}
devices:
  pcs: {per_user: 1, name_prefix: PC, name_suffix: '', hostname_prefix: '10.0.{pod}.', hostname_suffix: '10',
        parameters: {protocol: rdp}}
  desktops: {per_user: 2, name_prefix: Desktop, name_suffix: '1', hostname_prefix: 'd{pod}-', hostname_suffix: '1',
             parameters: {protocol: rdp}}
""")
    check = run_cli("-i", str(lab), "--check", cwd=tmp_path)
    assert check.returncode == 0, check.stderr
    assert check.stdout.decode().splitlines()[-1] == (
        "  pods: 3, numbered 1 to 3 in config order, holding pcs (1 rdp) in 2, desktops (2 rdp) in 1")


def test_the_devices_cell_is_exact_and_named_when_a_spreadsheet_would_run_it():
    text = ("users:\n" + students(1) +
            "devices:\n"
            "    pcs: {per_user: 1, name_prefix: '=PC', name_suffix: '', hostname_prefix: 'pc{pod}',\n"
            "          hostname_suffix: '',\n"
            "          parameters: {protocol: rdp}}\n")
    mapping = expand(read_config(text))
    (row,) = csv.DictReader(io.StringIO(credentials_sheet(mapping).csv.decode()))
    assert row["devices"] == "=PC=pc1" and list(credentials_sheet(mapping).formula_cells) == ["row 2 devices"]


def test_the_api_summary_describes_the_lab_and_its_pods(app_url):
    from httpclient import Client

    client = Client(app_url)
    created = client.post_file((EXAMPLES / "pods.yaml").read_bytes())
    assert created.status_code == 201, created.text
    summary = created.json()
    assert (summary["users"], summary["connections"]) == (21, 141)
    lab = summary["lab"]
    assert [(u["name"], u["users"], u["owns_pods"], u["all_pods"], u["connections_per_user"])
            for u in lab["user_types"]] == [("instructors", 1, False, True, 61), ("students", 20, True, False, 4)]
    assert lab["user_types"][1]["reaches"] == ["jumphost", "routers", "switches", "pcs"]
    assert [(d["name"], d["per_user"], d["devices"], d["owners"]) for d in lab["device_types"]] == [
        ("jumphost", False, 1, None), ("routers", True, 20, 20), ("switches", True, 20, 20), ("pcs", True, 20, 20)]
    pods = lab["pods"]
    assert (pods["start"], pods["owners"], pods["more"], len(pods["shown"])) == (1, 20, 15, 5)
    assert pods["shown"][1] == {"username": "student02", "pod": 2, "devices": [
        {"type": "routers", "name": "Router", "hostname": "10.0.2.1"},
        {"type": "switches", "name": "Switch", "hostname": "10.0.2.2"},
        {"type": "pcs", "name": "PC", "hostname": "10.0.2.10"}], "more_devices": 0}
    users = guacamole_reader.read(client.get().content)
    sheet = list(csv.DictReader(io.StringIO(client.get("/api/usermapping/credentials").text)))
    assert all(guacamole_reader.authenticates(users, r["username"], r["password"]) for r in sheet)
    assert sheet[2]["devices"] == "Router=10.0.2.1; Switch=10.0.2.2; PC=10.0.2.10"
    classroom = client.post_file().json()["lab"]
    assert classroom["pods"] == {"start": 1, "owners": 0, "shown": [], "more": 0}
    assert classroom["facts"][0] == "13 users in 2 types, 5 devices in 2 types, 65 connections"


def test_the_summary_stays_small_however_many_types_a_lab_has():
    """440 user types each reaching 450 device types: the picture's facts name a dozen of each, then count."""
    users = "".join(f"  u{i}: {{quantity: 1, username_prefix: u{i}x, username_suffix: '', password: p}}\n"
                    for i in range(440))
    devices = "".join(f"  d{j}: {{quantity: 1, name_prefix: d{j}, name_suffix: '', hostname_prefix: h, "
                      f"hostname_suffix: '', parameters: {{protocol: ssh}}}}\n" for j in range(450))
    lab = lab_summary(read_config("users:\n" + users + "devices:\n" + devices))
    assert len(lab["user_types"]) == 12 and lab["more_user_types"] == 428
    assert len(lab["device_types"]) == 12 and lab["more_device_types"] == 438
    assert lab["user_types"][0]["reaches"] == [f"d{j}" for j in range(12)]
    assert lab["user_types"][0]["more_reached"] == 438
    assert lab["facts"][13] == "and 428 more user types"
    assert lab["facts"][14].endswith("d11 (1 ssh) and 438 more")
    assert len(json.dumps(lab)) < 10_000


def test_a_pod_of_hundreds_of_devices_is_summed_up_by_its_first_dozen():
    text = ("users:\n" + students(5) +
            "devices:\n"
            "    vms: {per_user: 200, name_prefix: vm, name_suffix: '1', hostname_prefix: 'p{pod}-vm',\n"
            "          hostname_suffix: '1', parameters: {protocol: ssh}}\n")
    pods = lab_summary(read_config(text))["pods"]
    assert [len(p["devices"]) for p in pods["shown"]] == [12] * 5
    assert [p["more_devices"] for p in pods["shown"]] == [188] * 5
    assert pods["shown"][4]["devices"][11] == {"type": "vms", "name": "vm12", "hostname": "p5-vm12"}
