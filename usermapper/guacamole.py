"""What Apache Guacamole's file authentication understands, as far as a generator needs to know it.

Parameter names are those documented for Guacamole 1.5 (connection parameters per protocol). A name not
listed here is kept (newer Guacamole versions and extensions add parameters) but reported as a warning,
because a misspelt parameter is silently ignored by guacd and the trainer only finds out in class.
"""

from __future__ import annotations

PASSWORD_ENCODINGS = ("plain", "md5", "sha256")

_DISPLAY = {"color-depth", "width", "height", "dpi", "resize-method", "read-only", "force-lossless"}
_RECORDING = {
    "recording-path", "create-recording-path", "recording-name", "recording-exclude-output",
    "recording-exclude-mouse", "recording-exclude-touch", "recording-include-keys",
    "recording-write-existing", "typescript-path", "create-typescript-path", "typescript-name",
    "typescript-write-existing",
}
_SFTP = {
    "enable-sftp", "sftp-hostname", "sftp-host-key", "sftp-port", "sftp-timeout", "sftp-username",
    "sftp-password", "sftp-private-key", "sftp-passphrase", "sftp-public-key", "sftp-directory",
    "sftp-root-directory", "sftp-server-alive-interval", "sftp-disable-download", "sftp-disable-upload",
}
_WOL = {"wol-send-packet", "wol-mac-addr", "wol-broadcast-addr", "wol-udp-port", "wol-wait-time"}
_CLIPBOARD = {"disable-copy", "disable-paste", "clipboard-buffer-size"}
_TERMINAL = {
    "color-scheme", "font-name", "font-size", "scrollback", "backspace", "terminal-type",
    "disable-copy", "disable-paste", "clipboard-buffer-size",
}
_COMMON = {"hostname", "port", "timezone"} | _RECORDING | _WOL

KNOWN_PARAMETERS: dict[str, frozenset[str]] = {
    "rdp": frozenset(_COMMON | _DISPLAY | _SFTP | _CLIPBOARD | {
        "username", "password", "domain", "security", "ignore-cert", "cert-tofu", "cert-fingerprints",
        "disable-auth", "server-layout", "console", "console-audio", "initial-program", "client-name",
        "disable-audio", "enable-audio-input", "enable-touch", "enable-printing", "printer-name",
        "enable-drive", "drive-name", "drive-path", "create-drive-path", "disable-download",
        "disable-upload", "static-channels", "enable-wallpaper", "enable-theming", "enable-font-smoothing",
        "enable-full-window-drag", "enable-desktop-composition", "enable-menu-animations",
        "disable-bitmap-caching", "disable-offscreen-caching", "disable-glyph-caching",
        "disable-gfx", "remote-app", "remote-app-dir", "remote-app-args", "preconnection-id",
        "preconnection-blob", "gateway-hostname", "gateway-port", "gateway-username", "gateway-password",
        "gateway-domain", "load-balance-info", "normalize-clipboard", "server-alive-interval",
        "resize-method", "disable-audio", "timezone",
    }),
    "vnc": frozenset(_COMMON | _DISPLAY | _SFTP | _CLIPBOARD | {
        "username", "password", "autoretry", "swap-red-blue", "cursor", "encodings", "dest-host",
        "dest-port", "reverse-connect", "listen-timeout", "enable-audio", "audio-servername",
        "clipboard-encoding", "disable-display-resize", "compress-level", "quality-level",
    }),
    "ssh": frozenset(_COMMON | _SFTP | _TERMINAL | {
        "host-key", "username", "password", "private-key", "passphrase", "public-key", "command",
        "locale", "server-alive-interval", "read-only",
    }),
    "telnet": frozenset(_COMMON | _TERMINAL | {
        "username", "password", "username-regex", "password-regex", "login-success-regex",
        "login-failure-regex", "read-only",
    }),
    "kubernetes": frozenset(_COMMON | _TERMINAL | {
        "namespace", "pod", "container", "exec-command", "use-ssl", "client-cert", "client-key",
        "ca-cert", "ignore-cert", "read-only",
    }),
}

PROTOCOLS = tuple(KNOWN_PARAMETERS)
