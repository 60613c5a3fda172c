"""Names what `sam build` left by function: <build>/<LogicalId>/bootstrap becomes
<out>/<binary>/bootstrap (a link, so the tests run those very files), as tests/lambda expects.

    python infra/sam_artifacts.py template.yaml <sam build dir> <out dir>
"""

import sys
from pathlib import Path

from samtranslator.yaml_helper import yaml_parse


def main(template: str, build: str, out: str) -> None:
    resources = yaml_parse(Path(template).read_text())["Resources"]
    found = 0
    for logical_id, resource in resources.items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        binary = resource["Metadata"]["BuildProperties"]["Binary"]
        built = Path(build, logical_id, "bootstrap").resolve()
        if not built.is_file():
            sys.exit(f"sam build left no {built} for {logical_id}")
        Path(out, binary).mkdir(parents=True, exist_ok=True)
        Path(out, binary, "bootstrap").symlink_to(built)
        found += 1
    print(f"{found} functions built by sam build, linked under {out}")


if __name__ == "__main__":
    main(*sys.argv[1:4])
