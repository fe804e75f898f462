"""The catalogue as users see it, and `thermablate guidance import`."""

from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from tests.factories import login
from thermablate.guidance.models import Guidance, GuidanceVersion

SEEDS = Path(__file__).resolve().parents[2].parent / "shared" / "seeds"


def test_the_application_ships_with_the_guidance_for_its_procedures(db):
    keys = set(Guidance.objects.values_list("key", flat=True))
    assert {"HTG670", "IPG53", "IPG319", "ID1783", "IPCD-2022-RFA-SPINAL-METASTASES"} <= keys
    assert Guidance.objects.get(key="HTG670").recommendation == "standard"
    assert Guidance.objects.get(key="IPCD-2022-RFA-SPINAL-METASTASES").recommendation == "special"


def test_the_catalogue_lists_and_searches(client, analyst):
    login(client, analyst)
    page = client.get(reverse("guidance_catalogue")).content.decode()
    assert "HTG670" in page and "IPG53" in page
    found = client.get(reverse("guidance_catalogue"), {"q": "osteoid"}).content.decode()
    assert "IPG53" in found and "HTG670" not in found


def test_a_guidance_page_shows_recommendation_conditions_outcomes_and_replacements(
    client, clinician
):
    login(client, clinician)
    page = client.get(reverse("guidance_detail", args=["HTG670"])).content.decode()
    assert "Standard arrangements" in page
    assert "patient selection by a multidisciplinary team".capitalize() in page
    assert "cement leakage" in page and "reduction in pain" in page
    chain = page.split('id="chain"')[1].split("</ol>")[0]
    assert chain.index("IPG759") < chain.index("HTG670")


def test_the_idet_guidance_shows_it_replaced_ipg81(client, clinician):
    login(client, clinician)
    page = client.get(reverse("guidance_detail", args=["IPG319"])).content.decode()
    assert "IPG81 (not in the catalogue)" in page
    assert "V52.2" in page


def test_a_topic_in_development_shows_the_nice_process_and_where_it_stands(client, clinician):
    login(client, clinician)
    page = client.get(reverse("guidance_detail", args=["ID1783"])).content.decode()
    process = page.split('id="process"')[1].split("</ol>")[0]
    for stage in [
        "First Interventional Procedures Advisory Committee meeting (IPAC 1)",
        "Interventional procedure consultation opens",
        "Second Interventional Procedures Advisory Committee meeting (IPAC 2)",
        "Expected publication",
    ]:
        assert stage in process
    assert "14 October 2022" in process and "2022-10-14" not in process
    assert "has passed" in page.split('id="standing"')[1]


def test_an_unknown_guidance_is_not_found(client, clinician):
    login(client, clinician)
    assert client.get(reverse("guidance_detail", args=["IPG9999"])).status_code == 404


def test_an_administrator_cannot_read_the_catalogue(client, administrator):
    login(client, administrator)
    assert client.get(reverse("guidance_catalogue")).status_code == 403


@pytest.mark.skipif(not SEEDS.is_dir(), reason="the seeds live in ../shared/seeds beside the clone")
def test_importing_the_seeds_again_changes_nothing(db, capsys):
    before = GuidanceVersion.objects.count()
    call_command("guidance", "import", *sorted(str(p) for p in SEEDS.glob("0*.txt")))
    out = capsys.readouterr().out
    assert out.count("unchanged") == 5
    assert GuidanceVersion.objects.count() == before


def test_a_newer_version_updates_the_guidance_and_keeps_its_history(db, tmp_path):
    newer = tmp_path / "htg670-2027.txt"
    text = (SEEDS / "002_b44e55e401da8434.txt").read_text()
    changed = text.replace("standard arrangements", "special arrangements")
    assert changed != text
    newer.write_text(changed)
    call_command("guidance", "import", str(newer))
    guidance = Guidance.objects.get(key="HTG670")
    assert guidance.version == 2 and guidance.recommendation == "special"
    assert [v.record["recommendation"] for v in guidance.versions.all()] == ["standard", "special"]


def test_a_document_that_is_not_guidance_is_refused_and_nothing_is_imported(db, tmp_path):
    other = tmp_path / "shopping.txt"
    other.write_text("Eggs, milk, bread.\n")
    good = tmp_path / "copy.txt"
    good.write_text(
        (SEEDS / "002_b44e55e401da8434.txt")
        .read_text()
        .replace("standard arrangements", "special arrangements")
    )
    with pytest.raises(CommandError, match="shopping.txt: This is not a NICE guidance document"):
        call_command("guidance", "import", str(good), str(other))
    assert Guidance.objects.get(key="HTG670").version == 1
