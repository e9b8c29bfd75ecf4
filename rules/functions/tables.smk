# The tables stage's input and params functions (its rules: rules/tables.smk).


def table_report(table):
    """A main table, also in `snakemake --report` (its caption in report/)."""
    return report(
        f"{ARCH}/tables/{table}.csv",
        caption=f"../report/{table}.rst",
        category="Tables",
        subcategory="{arch}",
        labels={"architecture": "{arch}", "table": table},
    )
