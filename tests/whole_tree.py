"""The file as lxml serializes the whole tree built at once, every connection an element of its own: the
straightforward way the streaming writer's shortcuts must equal, byte for byte."""

from __future__ import annotations

from lxml import etree

from usermapper.lab.expand import UserMapping
from usermapper.outputs.user_mapping import XML_DECLARATION


def whole_tree(mapping: UserMapping) -> bytes:
    root = etree.Element("user-mapping")
    for group in mapping.groups:
        for index, user in enumerate(group.users):
            attributes = {"username": user.username, "password": user.stored_password}
            if user.encoding != "plain":
                attributes["encoding"] = user.encoding
            authorize = etree.SubElement(root, "authorize", attributes)
            for connection in group.connections_of(index):
                element = etree.SubElement(authorize, "connection", name=connection.name)
                etree.SubElement(element, "protocol").text = connection.protocol
                for name, value in connection.parameters:
                    etree.SubElement(element, "param", name=name).text = value
    etree.indent(root, space="  ")
    return XML_DECLARATION + etree.tostring(root, encoding="UTF-8") + b"\n"
