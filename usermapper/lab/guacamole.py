"""What Apache Guacamole's file authentication and guacd understand, as far as a generator needs to know it.

The parameter table follows **guacd 1.6.0** (apache/guacamole-server, tag ``1.6.0``). It was written by
hand from reading, at that tag:

* ``src/protocols/{rdp,vnc,ssh,telnet,kubernetes}/settings.c``: each protocol's ``GUAC_*_CLIENT_ARGS``
  list gives the names guacd asks for, and its ``guac_*_parse_args()`` function shows how each value is
  read (``guac_user_parse_args_boolean``, ``guac_user_parse_args_int``, ``guac_user_parse_args_string``,
  ``strcmp`` chains for enumerations, ``atoi`` in three places);
* ``src/libguac/user.c``: how those three ``guac_user_parse_args_*`` functions treat a value;
* ``src/protocols/rdp/keymaps/*.keymap`` (their ``name`` lines) for the RDP ``server-layout`` names,
  ``src/protocols/vnc/clipboard.c`` for ``clipboard-encoding``, ``src/protocols/vnc/display.c`` and
  ``vnc.c`` for ``color-depth``/``compress-level``/``quality-level``, ``src/terminal/color-scheme.c`` and
  ``xparsecolor.c`` for terminal ``color-scheme``, ``configure.ac`` for the build options.

How guacd 1.6.0 reads a value (all in ``src/libguac/user.c``):

* every kind: an empty value means "not given" and guacd uses its default;
* boolean (``guac_user_parse_args_boolean``): exactly ``true`` is true, exactly ``false`` is false; anything
  else (``yes``, ``True``, ``1``) is logged as a warning and the *default* is used. Every boolean in 1.6.0
  defaults to false, so in practice anything but ``true`` means false;
* integer (``guac_user_parse_args_int``): ``strtol(value, &end, 10)``; leading white space and one ``+``
  or ``-`` are accepted, then decimal digits to the very end, within the range of a C ``int``. Anything else
  (``0x16``, ``1_000``, ``22 ``, ``1e3``) is logged as a warning and the default is used. A minus sign is
  accepted by this reader for every integer; only VNC ``compress-level``/``quality-level`` give a negative
  a meaning (leave it to the VNC library, their default -1);
* RDP ``width``, ``height`` and ``preconnection-id`` are read with C ``atoi`` instead: no warning, the
  leading digits are taken and the rest ignored (``0x16`` is 0, ``1_000`` is 1), and a result <= 0 means the
  default size (width/height) or "no preconnection ID" (negative preconnection-id);
* enumeration: ``strcmp`` against each allowed value, so case matters; anything else quietly falls back
  to the default (a log line at most);
* text (``guac_user_parse_args_string``): taken as given. Some "ports" are text: SSH/telnet ``port`` and
  the RDP/VNC ``sftp-port`` are handed to the resolver as a service, so ``ssh`` would also work there.

Some names exist only when guacd was built with an optional feature (``Parameter.build``); a guacd without
it does not ask for the name, and the web application then never passes it on.

A name not listed here is kept (newer Guacamole versions and extensions add parameters) but reported as a
warning by the config reader, because a misspelt parameter is silently ignored and the trainer only finds
out in class.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from ..wording import code

PASSWORD_ENCODINGS = ("plain", "md5", "sha256")

GUACD_RELEASE = "1.6.0"

BOOLEAN = "boolean"
INTEGER = "integer"
ENUMERATION = "enumeration"
COLOR_SCHEME = "color-scheme"  # a named scheme, or guacd's own "name: colour; ..." syntax
TEXT = "text"
KINDS = (BOOLEAN, INTEGER, ENUMERATION, COLOR_SCHEME, TEXT)

# guacd build features (configure.ac) that some names depend on.
COMMON_SSH = "libssh2 (ENABLE_COMMON_SSH)"
SSH_AGENT = "--enable-ssh-agent (ENABLE_SSH_AGENT)"
VNC_REPEATER = "libvncclient repeater support (ENABLE_VNC_REPEATER)"
VNC_LISTEN = "libvncclient listen support (ENABLE_VNC_LISTEN)"
PULSE = "libpulse (ENABLE_PULSE)"


@dataclass(frozen=True)
class Parameter:
    """One connection parameter of one protocol, as guacd 1.6.0 reads it."""

    name: str
    kind: str  # one of KINDS
    # for an enumeration, the values guacd recognises; for an integer, the numbers the rest of guacd gives a
    # meaning (empty: any number it can read); for a color-scheme, the names
    choices: tuple[str, ...] = ()
    default: str = ""  # in words, what guacd uses when the value is empty or it cannot read it
    note: str = ""  # what happens otherwise worth knowing, said so it can follow a colon
    atoi: bool = False  # an integer read with C atoi() instead of guac_user_parse_args_int()
    minimum: int | None = 0  # an integer's smallest number with a meaning (None: negatives mean something)
    build: str = ""  # the optional guacd build feature without which guacd does not know the name


def _bool(name: str, note: str = "", build: str = "") -> Parameter:
    return Parameter(name, BOOLEAN, default="false", note=note, build=build)


def _int(name: str, default: str, choices: tuple[str, ...] = (), note: str = "", build: str = "",
         atoi: bool = False, minimum: int | None = 0) -> Parameter:
    return Parameter(name, INTEGER, choices, default, note, atoi, minimum, build)


def _enum(name: str, choices: tuple[str, ...], default: str, note: str = "") -> Parameter:
    return Parameter(name, ENUMERATION, choices, default, note)


def _text(name: str, default: str = "", note: str = "", build: str = "") -> Parameter:
    return Parameter(name, TEXT, default=default, note=note, build=build)


def _table(*groups: tuple[Parameter, ...]) -> dict[str, Parameter]:
    table: dict[str, Parameter] = {}
    for group in groups:
        for parameter in group:
            assert parameter.name not in table, parameter.name
            table[parameter.name] = parameter
    return table


# -- groups shared by several protocols --------------------------------------------------------------------

_CLIPBOARD = (_bool("disable-copy"), _bool("disable-paste"))

# Screen recording: every protocol has these; recording-exclude-touch is RDP only.
_RECORDING = (
    _text("recording-path"), _text("recording-name", default="recording"),
    _bool("recording-exclude-output"), _bool("recording-exclude-mouse"), _bool("recording-include-keys"),
    _bool("create-recording-path"), _bool("recording-write-existing"),
)

# Text session recording: the terminal protocols only (not RDP, not VNC).
_TYPESCRIPT = (
    _text("typescript-path"), _text("typescript-name", default="typescript"),
    _bool("create-typescript-path"), _bool("typescript-write-existing"),
)

# Wake-on-LAN: rdp, vnc, ssh, telnet (not kubernetes). The other wol-* values are read only when
# wol-send-packet is true, and wol-send-packet is switched off again when wol-mac-addr is empty.
_WOL = (
    _bool("wol-send-packet"), _text("wol-mac-addr"), _text("wol-broadcast-addr", default="255.255.255.255"),
    _int("wol-udp-port", "9", note="guacd keeps only the low 16 bits (it is cast to an unsigned short)"),
    _int("wol-wait-time", "0"),
)


def _sftp_for_graphical(username_default: str) -> tuple[Parameter, ...]:
    """The SFTP side channel of RDP and VNC: guacd knows these only when built with libssh2."""
    return tuple(replace(p, build=COMMON_SSH) for p in (
        _bool("enable-sftp"), _text("sftp-hostname", default="the connection's hostname"),
        _text("sftp-host-key"),
        _text("sftp-port", default="22", note="read as text and handed to the resolver, not as a number"),
        _int("sftp-timeout", "10"), _text("sftp-username", default=username_default), _text("sftp-password"),
        _text("sftp-private-key"), _text("sftp-passphrase"), _text("sftp-public-key"), _text("sftp-directory"),
        _text("sftp-root-directory", default="/"), _int("sftp-server-alive-interval", "0"),
        _bool("sftp-disable-download"), _bool("sftp-disable-upload"),
    ))


_COLOR_SCHEMES = ("black-white", "gray-black", "green-black", "white-black")

# What the three terminal protocols (ssh, telnet, kubernetes) all have.
_TERMINAL = (
    _text("font-name", default="monospace"), _int("font-size", "12"),
    Parameter("color-scheme", COLOR_SCHEME, _COLOR_SCHEMES, default="gray-black",
              note="besides the four names, guacd reads its own syntax, e.g. "
                   "`foreground: rgb:ff/ff/ff; background: color0; color1: red`"),
    _int("scrollback", "1000"),
    _int("backspace", "127", note="the number is the character code the Backspace key sends (127 is DEL, "
                                  "8 is Ctrl-H); guacd sends any number as that one character"),
    _bool("read-only"),
)

_RDP_KEYMAPS = (
    "cs-cz-qwertz", "da-dk-qwerty", "de-ch-qwertz", "de-de-qwertz", "en-gb-qwerty", "en-us-qwerty",
    "es-es-qwerty", "es-latam-qwerty", "fr-be-azerty", "fr-ca-qwerty", "fr-ch-qwertz", "fr-fr-azerty",
    "hu-hu-qwertz", "it-it-qwerty", "ja-jp-qwerty", "no-no-qwerty", "pl-pl-qwerty", "pt-br-qwerty",
    "pt-pt-qwerty", "ro-ro-qwerty", "sv-se-qwerty", "tr-tr-qwerty",
    "failsafe",  # Unicode events only
    "base", "base_altgr",  # the layouts the others build on; guacd finds them by name too
)

# -- per protocol ------------------------------------------------------------------------------------------

_RDP = _table(
    (
        _text("hostname"),
        _int("port", "3389 (2179 when security is vmconnect)"),
        _int("timeout", "10 (seconds)"),
        _text("domain"), _text("username"), _text("password"),
        _int("width", "the browser's width", atoi=True, minimum=1,
             note="a width of 0 or less makes guacd log an error and use 1024"),
        _int("height", "the browser's height", atoi=True, minimum=1,
             note="a height of 0 or less makes guacd log an error and use 768"),
        _int("dpi", "the browser's resolution"),
        _text("initial-program"),
        _int("color-depth", "32, or 16 when disable-gfx is true", choices=("8", "16", "24", "32"),
             note="guacd passes the number on to FreeRDP as bits per pixel; unless disable-gfx is true it "
                  "is replaced by 32 anyway (the graphics pipeline needs 32)"),
        _bool("disable-audio"), _bool("enable-audio-input"), _bool("enable-touch"),
        _bool("enable-printing"), _text("printer-name", default="Guacamole Printer"),
        _bool("enable-drive"), _text("drive-name", default="Guacamole Filesystem"), _text("drive-path"),
        _bool("create-drive-path"), _bool("disable-download"), _bool("disable-upload"),
        _bool("console"), _bool("console-audio"),
        _enum("server-layout", _RDP_KEYMAPS, "en-us-qwerty"),
        _enum("security", ("any", "nla", "nla-ext", "tls", "vmconnect", "rdp"), "any (negotiate)"),
        _bool("ignore-cert"), _bool("cert-tofu"),
        _text("cert-fingerprints", note="a comma-separated list"),
        _bool("disable-auth"),
        _text("remote-app"), _text("remote-app-dir"), _text("remote-app-args"),
        _text("static-channels", note="a comma-separated list of channel names"),
        _text("client-name", default="Guacamole RDP"),
        _bool("enable-wallpaper"), _bool("enable-theming"), _bool("enable-font-smoothing"),
        _bool("enable-full-window-drag"), _bool("enable-desktop-composition"), _bool("enable-menu-animations"),
        _bool("disable-bitmap-caching"), _bool("disable-offscreen-caching"),
        _bool("disable-glyph-caching", note="guacd 1.6.0 always disables the glyph cache, whatever this says"),
        _bool("disable-gfx"),
        _int("preconnection-id", "none", atoi=True,
             note="a negative number is ignored with a warning and no preconnection ID is sent"),
        _text("preconnection-blob"),
        _text("timezone", default="the browser's time zone"),
        _enum("resize-method", ("display-update", "reconnect"), "none (the display is not resized)"),
        _bool("read-only"), _bool("force-lossless"),
        _text("gateway-hostname"), _int("gateway-port", "443"), _text("gateway-domain"),
        _text("gateway-username"), _text("gateway-password"),
        _text("load-balance-info"),
        _enum("normalize-clipboard", ("preserve", "unix", "windows"), "preserve"),
    ),
    _sftp_for_graphical(username_default="the RDP username"),
    _RECORDING, (_bool("recording-exclude-touch"),),
    _CLIPBOARD, _WOL,
)

_VNC = _table(
    (
        _text("hostname"), _int("port", "0"), _bool("read-only"), _bool("disable-display-resize"),
        _text("encodings", default="zrle ultra copyrect hextile zlib corre rre raw"),
        _text("username"), _text("password"), _bool("swap-red-blue"),
        _int("color-depth", "0, which guacd treats as 24", choices=("8", "16", "24", "32"),
             note="guacd treats any other number as 24 (true colour, 32 bits per pixel)"),
        _enum("cursor", ("local", "remote"), "local", note="anything but `remote` means local"),
        _int("autoretry", "0"),
        _enum("clipboard-encoding", ("ISO8859-1", "UTF-8", "UTF-16", "CP1252"), "ISO8859-1"),
        _bool("disable-server-input"), _bool("force-lossless"),
        _int("compress-level", "-1 (left to the VNC library)", choices=tuple(map(str, range(-1, 10))),
             minimum=None, note="guacd passes on only 0 to 9 and leaves anything else to the VNC library"),
        _int("quality-level", "-1 (left to the VNC library)", choices=tuple(map(str, range(-1, 10))),
             minimum=None, note="guacd passes on only 0 to 9 and leaves anything else to the VNC library"),
    ),
    (_text("dest-host", build=VNC_REPEATER), _int("dest-port", "0", build=VNC_REPEATER)),
    (_bool("enable-audio", build=PULSE),
     _text("audio-servername", build=PULSE, note="read only when enable-audio is true")),
    (_bool("reverse-connect", build=VNC_LISTEN), _int("listen-timeout", "5000 (milliseconds)", build=VNC_LISTEN)),
    _sftp_for_graphical(username_default="empty"),
    _RECORDING, _CLIPBOARD, _WOL,
)

_SSH = _table(
    (
        _text("hostname"), _text("host-key"),
        _text("port", default="22", note="read as text and handed to the resolver, not as a number"),
        _int("timeout", "10 (seconds)"), _text("username"), _text("password"),
        _bool("enable-sftp"), _text("sftp-root-directory", default="/"),
        _bool("sftp-disable-download"), _bool("sftp-disable-upload"),
        _text("private-key"), _text("passphrase"), _text("public-key"),
        _bool("enable-agent", build=SSH_AGENT),
        _text("command"), _int("server-alive-interval", "0 (no keep-alive)"),
        _text("terminal-type", default="linux"), _text("locale"),
        _text("timezone", default="the browser's time zone"),
    ),
    _TERMINAL, _TYPESCRIPT, _RECORDING, _CLIPBOARD, _WOL,
)

_TELNET = _table(
    (
        _text("hostname"),
        _text("port", default="23", note="read as text and handed to the resolver, not as a number"),
        _int("timeout", "10 (seconds)"),
        _text("username"), _text("username-regex", default="[Ll]ogin:"),
        _text("password"), _text("password-regex", default="[Pp]assword:"),
        _text("login-success-regex", note="ignored unless login-failure-regex is given too"),
        _text("login-failure-regex", note="ignored unless login-success-regex is given too"),
        _text("terminal-type", default="linux"),
    ),
    _TERMINAL, _TYPESCRIPT, _RECORDING, _CLIPBOARD, _WOL,
)

_KUBERNETES = _table(
    (
        _text("hostname"), _int("port", "8080"), _text("namespace", default="default"), _text("pod"),
        _text("container"), _text("exec-command"), _bool("use-ssl"),
        _text("client-cert", note="read only when use-ssl is true"),
        _text("client-key", note="read only when use-ssl is true"),
        _text("ca-cert", note="read only when use-ssl is true"),
        _bool("ignore-cert", note="read only when use-ssl is true"),
    ),
    _TERMINAL, _TYPESCRIPT, _RECORDING, _CLIPBOARD,
)

PARAMETERS: dict[str, dict[str, Parameter]] = {
    "rdp": _RDP, "vnc": _VNC, "ssh": _SSH, "telnet": _TELNET, "kubernetes": _KUBERNETES,
}

KNOWN_PARAMETERS: dict[str, frozenset[str]] = {protocol: frozenset(table) for protocol, table in PARAMETERS.items()}

PROTOCOLS = tuple(PARAMETERS)

# -- reading a value the way guacd does ---------------------------------------------------------------------

_C_SPACE = " \t\n\v\f\r"
_INT_MIN, _INT_MAX = -2**31, 2**31 - 1
_STRTOL = re.compile(rf"[{_C_SPACE}]*([+-]?[0-9]+)")  # what strtol(..., 10) takes; must reach the end
_ATOI = re.compile(rf"[{_C_SPACE}]*([+-]?[0-9]*)")  # what atoi takes; the rest is ignored
# Only a color-scheme value is matched against these: they are compiled (re keeps them) when one is.
_COLOR_INDEX = r"color[ \t\n\v\f\r]*([+-]?[0-9]+)"  # sscanf "color%d" (a prefix is enough)
_RGB = r"rgb:([0-9a-fA-F]{1,4})/([0-9a-fA-F]{1,4})/([0-9a-fA-F]{1,4})"


def kind_of(protocol: str | None, name: str) -> str | None:
    """How guacd reads the parameter (one of KINDS); None when it does not know it for that protocol."""
    parameter = PARAMETERS.get(protocol or "", {}).get(name)
    return parameter.kind if parameter else None


def problem_with_value(protocol: str, name: str, value: str) -> str | None:
    """A sentence saying what guacd 1.6.0 does with a value it cannot read as this parameter's type.

    None when the value is fine, empty (guacd then uses its default), or the protocol or name is not one
    guacd 1.6.0 knows (the config reader warns about those itself).
    """
    parameter = PARAMETERS.get(protocol, {}).get(name)
    if parameter is None or value == "":
        return None
    if parameter.kind == BOOLEAN:
        return _boolean_problem(parameter, value)
    if parameter.kind == INTEGER:
        return _integer_problem(parameter, value)
    if parameter.kind == ENUMERATION:
        if value in parameter.choices:
            return None
        return (f"{code(value)} is not one of {_listed(parameter.choices)} (guacd {GUACD_RELEASE} compares exactly, "
                f"case included): it uses {parameter.default} instead")
    if parameter.kind == COLOR_SCHEME:
        return _color_scheme_problem(value)
    return None


def _listed(choices: tuple[str, ...]) -> str:
    return ", ".join(f"`{choice}`" for choice in choices)


def _boolean_problem(parameter: Parameter, value: str) -> str | None:
    if value in ("true", "false"):
        return None
    return (f"{code(value)} is not `true`: guacd {GUACD_RELEASE} accepts only `true` or `false`, exactly, and for "
            f"anything else it logs a warning and uses the default, {parameter.default}")


def _integer_problem(parameter: Parameter, value: str) -> str | None:
    below = (lambda n: parameter.minimum is not None and n < parameter.minimum)
    if parameter.atoi:
        digits = _ATOI.match(value).group(1)
        number = _c_number(digits)
        if not _STRTOL.fullmatch(value):
            read = number if _INT_MIN <= number <= _INT_MAX else "a number outside what a C int holds"
            return (f"{code(value)} is not a whole number in decimal digits: guacd {GUACD_RELEASE} reads "
                    f"{parameter.name} with atoi, which stops at the first character that is not a digit, so it "
                    f"reads {read}" + (f", and {parameter.note}" if below(number) and parameter.note else ""))
    else:
        match = _STRTOL.fullmatch(value)
        number = _c_number(match.group(1)) if match else None
        if number is None or not _INT_MIN <= number <= _INT_MAX:
            why = "is not a whole number in decimal digits" if number is None else "is outside what a C int holds"
            return (f"{code(value)} {why}: guacd {GUACD_RELEASE} logs a warning and uses the default for "
                    f"{parameter.name}, {parameter.default}")
    if below(number):
        what = (parameter.note if parameter.note and parameter.atoi
                else f"guacd {GUACD_RELEASE} reads it as {number}, which is no sensible {parameter.name}")
        return f"{code(value)} is {'negative' if number < 0 else 'zero'}: {what}"
    if parameter.choices and str(number) not in parameter.choices:
        return f"{code(value)} is not one of {_listed(parameter.choices)}: {parameter.note}"
    return None


def _c_number(digits: str) -> int:
    """The number C reads from optional sign and decimal digits, held to one past a 64-bit long's range:
    every check here compares with far smaller bounds, and Python refuses to read more than 4,300 digits."""
    sign, significant = ("-" if digits.startswith("-") else ""), digits.lstrip("+-").lstrip("0")
    if len(significant) > 19:
        significant = "1" + "0" * 19
    return int(sign + (significant or "0"))


def _color_scheme_problem(value: str) -> str | None:
    if value in _COLOR_SCHEMES:
        return None
    stop = (f"guacd {GUACD_RELEASE} stops reading the colour scheme there and keeps what it had read before "
            f"(gray on black if nothing)")
    color_index, rgb = re.compile(_COLOR_INDEX), re.compile(_RGB)  # kept by re after the first colour scheme
    for pair in dict.fromkeys(value.split(";")):  # a pair written twice says the same twice: weighed once
        pair = pair.strip(_C_SPACE)
        if not pair:
            continue
        key, colon, colour = pair.partition(":")
        key, colour = key.strip(_C_SPACE), colour.strip(_C_SPACE)
        if not colon:
            return (f"{code(pair)} is not one of {_listed(_COLOR_SCHEMES)} nor a `name: colour` pair: {stop}")
        if key not in ("foreground", "background"):
            index = color_index.match(key)
            if not (index and 0 <= _c_number(index.group(1)) <= 255):
                return f"{code(key)} is not `foreground`, `background` or `color0` to `color255`: {stop}"
        if colour.startswith("color"):
            index = color_index.match(colour)
            if index and not 0 <= _c_number(index.group(1)) <= 255:
                return f"{code(colour)} is not a colour (`color0` to `color255`): {stop}"
        if colour.startswith("rgb:") and not rgb.match(colour):
            return f"{code(colour)} is not an X11 colour like `rgb:ff/80/00`: {stop}"
        if not colour:
            return f"{code(pair)} has no colour after the colon: {stop}"
        # Anything else may be one of the X11 colour names guacd knows; they are not checked here.
    return None
