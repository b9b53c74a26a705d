"""The CSV cells (csv_format.py): text a spreadsheet would run as a formula is defused and comes back unchanged."""

from tests.registry.files import exported_rows, post_import

FORMULA_NAME = '=HYPERLINK("http://evil.example/x","Cầu")'


async def test_export_defuses_text_a_spreadsheet_would_run_as_a_formula(registry, admin, create) -> None:
    await create(code="BTH-1", name=FORMULA_NAME, owner="@ops", tags=["-x"])
    row = (await exported_rows(registry, admin))[0]
    assert (row["name"], row["owner"], row["tags"]) == ("'" + FORMULA_NAME, "'@ops", "'-x")


async def test_export_leaves_ordinary_text_and_numbers_alone(registry, admin, create) -> None:
    await create(code="BTH-1", name="Cầu Sài Gòn", latitude=10.79)
    row = (await exported_rows(registry, admin))[0]
    assert (row["code"], row["name"], row["latitude"]) == ("BTH-1", "Cầu Sài Gòn", "10.79")


async def test_defused_text_survives_export_then_import(registry, admin, create) -> None:
    await create(code="BTH-1", name=FORMULA_NAME, owner="'quoted'", address="+84 28 3822 1234", tags=["=a", "b"])
    exported = await registry.get("/v1/cameras/export", headers=admin)
    result = (await post_import(registry, admin, exported.content)).json()
    assert (result["unchanged"], result["rejected"]) == (1, [])
    cam = (await registry.get("/v1/cameras/BTH-1", headers=admin)).json()
    assert (cam["name"], cam["owner"], cam["address"], cam["tags"]) == (
        FORMULA_NAME,
        "'quoted'",
        "+84 28 3822 1234",
        ["=a", "b"],
    )


async def test_import_drops_only_an_apostrophe_that_defuses_a_formula(registry, admin, create) -> None:
    await create(code="BTH-1")
    await create(code="BTH-2")
    await post_import(registry, admin, "code,name\nBTH-1,'=1+1\nBTH-2,'Cầu\n")
    names = [(await registry.get(f"/v1/cameras/{c}", headers=admin)).json()["name"] for c in ("BTH-1", "BTH-2")]
    assert names == ["=1+1", "'Cầu"]
