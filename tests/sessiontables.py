"""The session tables of one prefix, read and written straight through the SDK, beside the store: what
the tests check the store's layout with (usermapper/store.py: one table per expiry hour)."""

from __future__ import annotations

from azure.data.tables import TableServiceClient

from usermapper.web.session_keys import LAST_HOUR, locate


class SessionTables:
    """The tables ``<prefix><YYYYMMDDHH>`` in one account, and the entities in them by token."""

    def __init__(self, connection_string: str, prefix: str):
        self.service = TableServiceClient.from_connection_string(connection_string)
        self.prefix = prefix

    def names(self) -> set[str]:
        """Every table of this prefix, the old layout's single table (the prefix itself) included."""
        tables = self.service.query_tables("TableName ge @prefix and TableName le @last",
                                           parameters={"prefix": self.prefix, "last": self.prefix + LAST_HOUR})
        return {table.name for table in tables}

    def hours(self) -> set[str]:
        """The hours that have a table."""
        return {name[len(self.prefix):] for name in self.names() if name != self.prefix}

    def entities(self) -> dict[str, dict]:
        """Every entity in the hour tables, by the token that names it."""
        return {f"{hour}-{entity['RowKey']}": entity for hour in sorted(self.hours())
                for entity in self.service.get_table_client(self.prefix + hour).list_entities()}

    def files(self) -> set[str]:
        """The tokens of the sessions that hold a file (not tombstones)."""
        return {token for token, entity in self.entities().items() if "State" not in entity}

    def entity(self, token: str) -> dict:
        where = locate(self.prefix, token)
        return self.service.get_table_client(where.table).get_entity(where.partition, where.row)

    def rewrite(self, token: str, entity: dict) -> None:
        """Put ``entity`` in place of the token's, as another version of the app might have written it."""
        where = locate(self.prefix, token)
        table = self.service.get_table_client(where.table)
        table.delete_entity(where.partition, where.row)
        table.create_entity(entity)

    def drop(self) -> None:
        """Delete every table of this prefix (tests free Azurite's memory this way)."""
        for name in self.names():
            self.service.delete_table(name)


def entities_in_account(connection_string: str) -> int:
    """Every entity in every table of the account, whatever the prefix or layout: a new session shows."""
    with TableServiceClient.from_connection_string(connection_string) as service:
        return sum(len(list(service.get_table_client(t.name).list_entities(select=["RowKey"])))
                   for t in service.list_tables())
