"""usermapper: a short YAML lab description in, Apache Guacamole's ``user-mapping.xml`` out.

The package knows nothing of Azure Functions. Data flows one way: ``lab`` (YAML -> a validated ``Lab``)
-> ``generate`` (the one step the command line and the web both call) -> ``outputs`` (the XML, the import
files, the password scripts, the credentials sheet, the summary) -> ``web`` (HTTP and the session store)
or ``cli`` (files). docs/architecture.md draws it.
"""
