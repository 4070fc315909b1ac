"""What `azd up` will deploy (azure.yaml, infra/), checked as far as a machine without Azure can: every
Bicep file parses (pycep-parser), checkov's Bicep policies pass or are justified beside the resource,
azure.yaml follows the azd schema's rules we rely on, and the app settings the code reads are the ones the
Bicep sets. What only a real deployment shows is listed in docs/deploying.md."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from pycep import BicepParser

ROOT = Path(__file__).resolve().parent.parent
INFRA = ROOT / "infra"
BICEP = sorted(INFRA.rglob("*.bicep"))
CHECKOV = ROOT / ".venv-infra" / "bin" / "checkov"
# Settings the platform or the host set or read, not the app: why each is in the Bicep, or why not.
HOST_SETTINGS = {
    "AzureWebJobsStorage__credential", "AzureWebJobsStorage__clientId", "AzureWebJobsStorage__blobServiceUri",
    "AzureWebJobsDisableHomepage", "APPLICATIONINSIGHTS_CONNECTION_STRING", "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
    "FUNCTIONS_REQUEST_BODY_SIZE_LIMIT", "MALLOC_ARENA_MAX",
}
NOT_IN_AZURE = {
    "WEBSITE_SITE_NAME": "set by the platform",
    "USERMAPPER_STORAGE": "our override of AzureWebJobsStorage, for a storage account of its own",
    "AzureWebJobsStorage": "a connection string; the Bicep uses the identity-based form instead",
    "AzureWebJobsStorage__accountName": "one form of the same connection; the Bicep sets the service URIs",
    "AzureWebJobsStorage__queueServiceUri": "the app has no queue triggers",
    "REQUESTS_CA_BUNDLE": "a CA bundle for storage's certificate, read as requests reads it; Azure needs none",
    "CURL_CA_BUNDLE": "the same, requests' other name for it",
}


def text(name: str) -> str:
    return (INFRA / name).read_text()


@pytest.mark.parametrize("path", BICEP, ids=[str(p.relative_to(INFRA)) for p in BICEP])
def test_every_bicep_file_parses(path):
    tree = BicepParser().parse(text=path.read_text())
    assert tree["resources"] or tree["modules"]


def test_main_is_the_azd_template_s_shape():
    main = text("main.bicep")
    assert "targetScope = 'subscription'" in main
    assert "name: 'rg-${environmentName}'" in main
    assert "uniqueString(subscription().id, environmentName, location)" in main
    assert re.search(r"^output SERVICE_API_URI string = ", main, re.M)
    parameters = json.loads(text("main.parameters.json"))["parameters"]
    declared = dict(re.findall(r"^param (\w+) \w+( =)?", main, re.M))
    assert set(parameters) == set(declared)
    assert {name for name, default in declared.items() if not default} <= set(parameters)
    assert parameters["environmentName"]["value"] == "${AZURE_ENV_NAME}"
    assert parameters["location"]["value"] == "${AZURE_LOCATION}"
    assert parameters["principalId"]["value"] == "${AZURE_PRINCIPAL_ID}"


def test_storage_has_no_keys_no_anonymous_blobs_and_tls_1_2():
    storage = text("app/storage.bicep")
    for line in ("allowSharedKeyAccess: false", "allowBlobPublicAccess: false", "minimumTlsVersion: 'TLS1_2'",
                 "supportsHttpsTrafficOnly: true", "publicAccess: 'None'"):
        assert line in storage


def test_the_app_is_flex_consumption_https_only_with_its_identity():
    api = text("app/api.bicep")
    assert "name: 'FC1'" in api and "tier: 'FlexConsumption'" in api
    assert "httpsOnly: true" in api and "minTlsVersion: '1.2'" in api
    assert "type: 'UserAssignedIdentity'" in api and "name: 'python'" in api
    assert "'azd-service-name': 'api'" in api
    assert "name: 'authsettingsV2'" in api and "if (!empty(authClientId))" in api
    monitoring = text("app/monitoring.bicep")
    assert "DisableLocalAuth: true" in monitoring and "disableLocalAuth: true" in monitoring


def test_the_identity_holds_exactly_the_roles_the_app_needs():
    rbac = text("app/rbac.bicep")
    roles = dict(re.findall(r"^var (\w+) = '([0-9a-f-]{36})'", rbac, re.M))
    assert roles == {"blobDataOwner": "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
                     "tableDataContributor": "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
                     "metricsPublisher": "3913510d-42f4-4e42-8a64-420c390055eb"}
    granted = re.findall(r"principalId: (\w+)\n.*\n.*roleDefinitions', (\w+)\)", rbac)
    assert sorted(granted) == sorted([("identityPrincipalId", "blobDataOwner"),
                                      ("identityPrincipalId", "tableDataContributor"),
                                      ("identityPrincipalId", "metricsPublisher"),
                                      ("userPrincipalId", "tableDataContributor")])


def settings_set_by_bicep() -> set[str]:
    block = re.search(r"^var appSettings = \{\n(.*?)^\}", text("app/api.bicep"), re.M | re.S)[1]
    return set(re.findall(r"^\s+(\w+):", block, re.M))


def settings_read_by_code() -> set[str]:
    """Every setting name the app reads: literal names in usermapper/ (every subpackage) and function_app.py, ``%NAME%`` in
    bindings, and the identity-based properties of each storage setting."""
    names = set()
    for path in [ROOT / "function_app.py", *sorted((ROOT / "usermapper").rglob("*.py"))]:
        source = path.read_text()
        names |= set(re.findall(r"""(?:env(?:iron)?\.get\(|env(?:iron)?\[|\(env, )"([A-Za-z][A-Za-z0-9_]+)"\)?""",
                                source))
        names |= set(re.findall(r"\"%([A-Za-z][A-Za-z0-9_]+)%\"", source))
        for group in re.findall(r"STORAGE_SETTINGS = \(([^)]*)\)", source):
            storage = re.findall(r'"(\w+)"', group)
            properties = set(re.findall(r'f"\{name\}__(\w+)"', source)) | \
                {f"{service}ServiceUri" for service in re.findall(r'for service in \(([^)]*)\)', source)
                 for service in re.findall(r'"(\w+)"', service)}
            names |= set(storage) | {f"{s}__{p}" for s in storage for p in properties}
    return names


def test_every_setting_the_code_reads_is_set_by_the_bicep_and_the_reverse():
    read, set_ = settings_read_by_code(), settings_set_by_bicep()
    assert {"USERMAPPER_SWEEP_SCHEDULE", "USERMAPPER_TABLE", "AzureWebJobsStorage__tableServiceUri",
            "WEBSITE_SITE_NAME"} <= read  # the scan finds names of each kind
    unexplained = {name for name in read - set_ if name not in NOT_IN_AZURE and not name.startswith("USERMAPPER_STORAGE__")}
    assert unexplained == set(), "read by the code but not set in infra/app/api.bicep"
    assert set_ - read - HOST_SETTINGS == set(), "set in infra/app/api.bicep but read by nothing"


def test_azure_yaml_follows_the_azd_schema():
    """The rules of azd's v1.0 azure.yaml schema this project relies on."""
    config = yaml.safe_load((ROOT / "azure.yaml").read_text())
    assert set(config) <= {"name", "resourceGroup", "metadata", "infra", "services", "pipeline", "hooks",
                           "requiredVersions", "state", "platform", "workflows", "cloud"}
    assert isinstance(config["name"], str) and len(config["name"]) >= 2
    api = config["services"]["api"]
    assert set(api) <= {"project", "host", "language", "hooks", "dist", "module", "resourceName", "apiVersion"}
    assert api["host"] == "function" and api["language"] == "python" and api["project"] == "."
    assert config.get("infra", {}).get("path", "infra") == "infra"


def test_the_package_leaves_out_the_infrastructure():
    ignored = (ROOT / ".funcignore").read_text().split()
    assert "infra/" in ignored and "azure.yaml" in ignored


def test_checkov_passes_or_each_failure_is_justified_beside_its_resource():
    assert CHECKOV.exists(), "scripts/setup test installs checkov in .venv-infra"
    run = subprocess.run([str(CHECKOV), "-d", str(INFRA), "--framework", "bicep", "-o", "json", "--quiet"],
                         capture_output=True, text=True, timeout=300)
    report = json.loads(run.stdout)
    report = report[0] if isinstance(report, list) else report
    assert report["summary"]["parsing_errors"] == 0
    unjustified = []
    for check in report["results"]["failed_checks"]:
        lines = (INFRA / check["file_path"].lstrip("/")).read_text().split("\n")
        first = check["file_line_range"][0] - 1
        above = []
        for line in reversed(lines[:first]):
            if not line.startswith("//"):
                break
            above.append(line)
        if not any(line.startswith(f"// {check['check_id']}: ") for line in above):
            unjustified.append(f"{check['check_id']} {check['resource']} ({check['check_name']})")
    assert unjustified == []
