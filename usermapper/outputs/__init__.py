"""What usermapper makes from a lab, one module per output, and the one list of the formats it offers.

Each output is exact (what Guacamole reads is what the lab says) and written from the expanded lab
(``lab.expand.UserMapping``); ``generate.py`` asks for them.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Format:
    """A file usermapper can write: the name ``--format`` and ``?format=`` take, and how it is served."""

    name: str
    media_type: str
    filename: str


USER_MAPPING = Format("user-mapping", "application/xml", "user-mapping.xml")
IMPORT_FORMATS = (
    Format("import-json", "application/json", "guacamole-import.json"),
    Format("import-yaml", "application/yaml", "guacamole-import.yaml"),
    Format("import-csv", "text/csv; charset=utf-8", "guacamole-import.csv"),
)
SQL_DIALECTS = ("postgresql", "mysql")
PASSWORD_SCRIPTS = {dialect: Format(f"passwords-{dialect}", "application/sql", f"passwords-{dialect}.sql")
                    for dialect in SQL_DIALECTS}
# Every format one generated lab can be downloaded as, by name, in the order the API lists them.
FORMATS = {f.name: f for f in (USER_MAPPING, *IMPORT_FORMATS, *PASSWORD_SCRIPTS.values())}
# Sign-in links are made by the command line alone: each needs the trainer's key, which never reaches the
# web app, so they are no download of a stored generation (docs/signin-links.md).
SIGN_IN_LINKS = Format("sign-in-links", "text/csv; charset=utf-8", "sign-in-links.csv")
