"""usermapper: a short YAML lab description in, Apache Guacamole's ``user-mapping.xml`` out.

The package knows nothing of Azure Functions. Data flows one way:
``config`` (YAML -> Lab) -> ``expand`` (Lab -> users and connections) -> ``xmlwriter`` (-> XML bytes);
``credentials`` writes the sheet of passwords; ``store`` keeps a generated file in Table Storage for a
while; ``web`` is the HTTP handling that does not depend on the host; ``cli`` is the command line.

Importing the package imports none of them, so that the command line loads only what it runs and never
the web layer: import each name from its module (``from usermapper.config import read_config``,
``from usermapper.expand import expand``, ``from usermapper.xmlwriter import write_user_mapping``).
"""
