"""Generate taskrouter_async/resources/ from the TaskRouter v1 spec and codegen/overrides.toml.

    python codegen/generate.py            # write the modules
    python codegen/generate.py --check    # exit 1 if a committed module differs from what it would write

Why a small Jinja2 generator of our own: openapi-python-client (tried on this spec) emits a module per
endpoint with mutable positional classes and closed enums, and its layout is fixed in its Python, so
bending it to this library's shapes (operation records, resources grouped by entity with their
statistics, one hand-written pipeline) would mean owning more template and patch code than this
file; datamodel-code-generator makes models only. Here the spec is read into plain records, the
templates render them, and ruff (pinned in the ``generate`` nox session) formats the result, so two
runs give identical files.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "tests" / "spec" / "twilio_taskrouter_v1.json"
OVERRIDES = ROOT / "codegen" / "overrides.toml"
OUT = ROOT / "taskrouter_async" / "resources"
VERBS = ("Fetch", "List", "Create", "Update", "Delete")


def snake(name: str) -> str:
    """``PostWorkActivitySid`` -> ``post_work_activity_sid``; a Python keyword gets a trailing ``_``."""
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()
    return text + "_" if text in ("from", "in", "if", "class", "for") else text


def pascal(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def doc(text: str | None) -> str:
    """A spec description as docstring text: one paragraph, Markdown links kept, triple quotes escaped."""
    return " ".join((text or "").split()).replace("\\", "\\\\").replace('"""', '\\"\\"\\"')


@dataclass
class Field:
    """A params field, a model field or a query argument: its names, Python type and declaration."""

    name: str
    wire: str
    type: str
    doc: str
    value: str = "None"  # the declaration after `=`, or the query kind


@dataclass
class Klass:
    name: str
    doc: str
    fields: list[Field]
    bases: list[str]


@dataclass
class Method:
    name: str
    kind: str  # fetch, list, create, update, delete, json
    operation: str  # the record's constant name
    sids: list[str]
    query: list[Field]
    params: str | None
    model: str | None
    if_match: bool
    doc: str


@dataclass
class Resource:
    name: str  # TaskQueue
    attribute: str
    module: str
    base: str
    operations: list[dict[str, Any]] = field(default_factory=list)
    methods: list[Method] = field(default_factory=list)

    @property
    def cls(self) -> str:
        """The resource's class: ``TaskQueues`` for ``client.task_queues``."""
        return pascal(self.attribute)


class Generator:
    def __init__(self, spec: dict[str, Any], overrides: dict[str, Any]) -> None:
        self.spec = spec
        self.o = overrides
        self.schemas = spec["components"]["schemas"]
        self.enums: dict[str, dict[str, Any]] = {}  # class -> {values, doc, shared}
        self.converters: dict[str, tuple[str, str, str]] = {}  # name -> (input type, output type, body)

    # --- kinds ---------------------------------------------------------------------------------

    def sid_prefix(self, wire: str, schema: dict[str, Any]) -> str | None:
        match = re.fullmatch(r"\^([A-Z]{2})\[0-9a-fA-F\]\{32\}\$", schema.get("pattern", ""))
        if match:
            return match.group(1)
        return self.o["sid_prefixes"].get(wire.removesuffix("Sid")) if wire.endswith("Sid") else None

    def enum_class(self, ref: str) -> str:
        schema_name = ref.rsplit("/", 1)[1]
        cls: str = self.o["enums"][schema_name]
        values = self.schemas[schema_name]["enum"]
        self.enums.setdefault(cls, {"values": values, "doc": doc(self.schemas[schema_name].get("description"))})
        return cls

    def range_of(self, operation: str, wire: str) -> tuple[str, str]:
        low, high = self.o["ranges"].get(f"{operation}.{wire}") or self.o["ranges"].get(wire) or ("none", "none")
        return ("None" if low == "none" else str(low)), ("None" if high == "none" else str(high))

    def converter(self, cls: str, many: bool) -> str:
        """The name of a generated converter for an enum field (mypy's attrs plugin reads its signature)."""
        name = f"_{snake(cls)}_list" if many else f"_{snake(cls)}"
        accepts = f"{cls} | bool | str" if cls in self.o["enums"]["boolean"] else f"{cls} | str"
        if many:
            self.converters[name] = (
                f"Iterable[{accepts}] | None",
                f"tuple[{cls}, ...] | None",
                f"None if value is None else to_enum_tuple({cls}, value)",
            )
        else:
            self.converters[name] = (
                f"{accepts} | None",
                f"{cls} | None",
                f"None if value is None else to_enum({cls}, value)",
            )
        return name

    def described(self, schema: dict[str, Any]) -> str:
        """A field's description, else its enum's (the spec describes enum fields on the enum)."""
        ref = schema.get("$ref") or schema.get("items", {}).get("$ref")
        if schema.get("description") or not ref:
            return doc(schema.get("description"))
        name = ref.rsplit("/", 1)[1]
        return doc(self.schemas[name].get("description")) or f"A ``{self.o['enums'][name]}`` value."

    def form_field(self, operation: str, wire: str, schema: dict[str, Any], *, required: bool = False) -> Field:
        """A params field, declared as ``attrs.field(...)`` in the class body (mypy's attrs plugin reads only
        that: a converter's argument types ``__init__``); a ``required`` one (the spec's ``required``) has
        no default and refuses ``None``."""
        name, description = snake(wire), self.described(schema)
        python, validator, converter = self.form_kind(operation, wire, schema)
        options = [] if required else ["default=None"]
        if converter:
            options.append(f"converter={converter}")
        validators = (["present"] if required else []) + ([validator] if validator else [])
        if validators:
            options.append(f"validator={validators[0] if len(validators) == 1 else '[' + ', '.join(validators) + ']'}")
        if self.o["fields"].get(wire) == "secret":
            options.append("repr=False")
        python = python if required else f"{python} | None"
        return Field(name, wire, python, description, f"attrs.field({', '.join(options)})")

    def form_kind(self, operation: str, wire: str, schema: dict[str, Any]) -> tuple[str, str, str]:
        """A form field's type (without ``None``), validator and converter (names in ``_fields`` or generated)."""
        kind = self.o["fields"].get(wire, "")
        prefix = self.sid_prefix(wire, schema)
        if kind.startswith("enum:") or "$ref" in schema or schema.get("format") == "http-method":
            cls = (
                kind.removeprefix("enum:")
                if kind
                else ("HttpMethod" if "enum" in schema else self.enum_class(schema["$ref"]))
            )
            self.enums.setdefault(cls, {})
            return cls, "", self.converter(cls, False)
        if schema.get("type") == "array":
            items = schema["items"]
            if "$ref" in items:
                cls = self.enum_class(items["$ref"])
                return f"tuple[{cls}, ...]", "", self.converter(cls, True)
            return "tuple[str, ...]", "text_items", "text_list"
        if kind == "json":
            return "str", "", "json_text"
        if kind == "bool_text":
            return "str", "text", "flag_or_text"
        if kind == "secret":
            return "str", "text", ""
        if kind == "flag" or schema.get("type") == "boolean":
            return "bool", "flag", ""
        if schema.get("type") == "integer":
            low, high = self.range_of(operation, wire)
            return "int", f"integer({low}, {high})", ""
        if prefix:
            return "str", f'sid("{prefix}")', ""
        if schema.get("format") == "uri":
            return "str", "uri", ""
        if schema.get("format") == "date-time":
            return "datetime", "aware_datetime", ""
        return "str", "text", ""

    def query_field(self, operation: str, param: dict[str, Any]) -> Field:
        wire, schema = param["name"], param["schema"]
        name, description = snake(wire), doc(param.get("description"))
        kind = self.o["query"].get(wire, "")
        if kind.startswith("enum_list:"):
            cls = kind.split(":")[1]
            return Field(name, wire, f"Iterable[{cls} | str] | None", description, f"query_enum_list({cls})")
        if "$ref" in schema:
            cls = self.enum_class(schema["$ref"])
            return Field(name, wire, f"{cls} | str | None", description or self.described(schema), f"query_enum({cls})")
        if kind == "flag" or schema.get("type") == "boolean":
            return Field(name, wire, "bool | None", description, "query_flag")
        if schema.get("type") == "integer":
            low, high = self.range_of(operation, wire)
            return Field(name, wire, "int | None", description, f"query_int({low}, {high})")
        if schema.get("format") == "date-time":
            return Field(name, wire, "datetime | None", description, "query_datetime")
        prefix = self.sid_prefix(wire if wire != "Sid" else "EventSid", schema)
        if prefix:
            return Field(name, wire, "str | None", description, f'query_sid("{prefix}")')
        return Field(name, wire, "str | None", description, "query_text")

    def model_field(self, model: str, name: str, schema: dict[str, Any], required: Iterable[str]) -> Field:
        description = self.described(schema)
        if "$ref" in schema:
            python = f"{self.enum_class(schema['$ref'])} | str"
        elif name in ("attributes", "configuration"):
            python = "JsonObject"
        elif schema.get("format") == "uri-map":
            python = "Mapping[str, str]"
        elif schema.get("format") == "date-time":
            python = "datetime"
        elif schema.get("type") in ("integer", "boolean"):
            python = {"integer": "int", "boolean": "bool"}[schema["type"]]
        elif schema.get("type") == "string":
            python = "str"
        elif schema.get("type") == "array":
            python = "Sequence[Mapping[str, Any]]"
        else:
            python = "Mapping[str, Any]"
        unhashable = python.startswith(("Mapping", "Sequence"))
        if name in required:
            return Field(name, name, python, description, "attrs.field(hash=False)" if unhashable else "")
        return Field(
            name,
            name,
            f"{python} | None",
            description,
            "attrs.field(default=None, hash=False)" if unhashable else "None",
        )

    # --- classes -------------------------------------------------------------------------------

    def model(self, schema_name: str, cls: str) -> Klass:
        required = self.o["required"].get(cls, self.o["required"]["default"])
        props = self.schemas[schema_name]["properties"]
        fields = [self.model_field(cls, name, schema, required) for name, schema in props.items()]
        if cls in self.o["etag"]["models"]:
            fields.append(
                Field(
                    "etag",
                    "etag",
                    "str | None",
                    "The response's ETag header, when the API sent one: pass it as ``etag=`` to update.",
                    "None",
                )
            )
        fields.append(
            Field(
                "extra",
                "extra",
                "Mapping[str, Any]",
                "Keys of the answer that the spec does not know, as they came.",
                "attrs.field(factory=dict, repr=False, hash=False)",
            )
        )
        title = re.sub(r"(?<!^)(?=[A-Z])", " ", cls).lower()
        return Klass(cls, f"A {title}, as the API returns it.", fields, ["_Model"])

    def params(self, operation: str, cls: str) -> Klass:
        op = self.operation(operation)
        content = op["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]["properties"]
        required = set(op["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"].get("required", ()))
        fields = [
            self.form_field(operation, wire, schema, required=wire in required) for wire, schema in content.items()
        ]
        verb = "Create" if operation.startswith("Create") else "Update"
        what = re.sub(r"(?<!^)(?=[A-Z])", " ", cls.removesuffix(verb)).lower()
        text = (
            f"What to set on a new {what}."
            if verb == "Create"
            else f"What to change on a {what}: fields left ``None`` stay as they are."
        )
        return Klass(cls, text, fields, ["Params"])

    def operation(self, operation_id: str) -> dict[str, Any]:
        for item in self.spec["paths"].values():
            for method, op in item.items():
                if isinstance(op, dict) and op.get("operationId") == operation_id:
                    return {**op, "_method": method.upper()}
        raise KeyError(operation_id)

    # --- the whole spec ------------------------------------------------------------------------

    def build(self) -> dict[str, dict[str, Any]]:
        """Every module's contents, by module name."""
        resources = {
            name: Resource(name, r["attribute"], r["module"], r.get("base", "Resource"))
            for name, r in self.o["resources"].items()
        }
        modules: dict[str, dict[str, Any]] = {}
        for path, item in self.spec["paths"].items():
            for method, op in item.items():
                if isinstance(op, dict) and "operationId" in op:
                    self.add_operation(resources, path, method.upper(), op)
        for resource in resources.values():
            module = modules.setdefault(
                resource.module, {"resources": [], "models": {}, "params": {}, "enums": {}, "converters": {}}
            )
            module["resources"].append(resource)
        for module in modules.values():
            self.enums, self.converters = {}, {}
            models, params = module["models"], module["params"]
            for resource in module["resources"]:
                for op in resource.operations:
                    if op["schema"] and op["model"] not in models:
                        models[op["model"]] = self.model(op["schema"], op["model"])
                    if op["params"] and op["params"] not in params:
                        params[op["params"]] = self.params(op["id"], op["params"])
                    for q in op["query"]:
                        if q.value.startswith("query_enum"):
                            self.enums.setdefault(q.value.split("(")[1].rstrip(")"), {})
            self.share(module)
            module["enums"] = {k: v for k, v in self.enums.items() if k not in self.o["enums"]["shared"]}
            module["shared_enums"] = sorted(k for k in self.enums if k in self.o["enums"]["shared"])
            module["converters"] = dict(sorted(self.converters.items()))
            for cls in list(params.values()) + list(models.values()):
                if cls.name in self.o["mixins"]:
                    cls.bases.insert(0, self.o["mixins"][cls.name])
            classes = [r.cls for r in module["resources"]]
            module["names"] = [*module["enums"], *models, *params, *classes, *(f"{c}WithRawResponse" for c in classes)]
        return modules

    def share(self, module: dict[str, Any]) -> None:
        """Pull the fields that several classes share into a base class (``ReservationUpdate``, ``Reservation``)."""
        for kind, table in (("params", "shared_params"), ("models", "shared_models")):
            classes: dict[str, Klass] = module[kind]
            for base, rule in self.o[table].items():
                members = [self.pascal_class(m, kind) for m in rule.get("operations", rule.get("schemas", []))]
                if not all(m in classes for m in members):
                    continue
                first = classes[members[0]]
                common = [
                    f for f in first.fields if all(any(g.name == f.name for g in classes[m].fields) for m in members)
                ]
                bases = ([rule["mixin"]] if "mixin" in rule else []) + first.bases
                what = "reservation update" if kind == "params" else "reservation"
                shared = Klass(base, f"The fields shared by task and worker {what}s.", common, bases)
                names = {f.name for f in common}
                for m in members:
                    classes[m].fields = [f for f in classes[m].fields if f.name not in names]
                    classes[m].bases = [base]
                classes.update({base: shared})
                module[kind] = {base: shared, **{k: v for k, v in classes.items() if k != base}}

    def pascal_class(self, name: str, kind: str) -> str:
        return f"{name.removeprefix('Update')}Update" if kind == "params" else pascal(name.rsplit(".", 1)[1])

    def add_operation(self, resources: dict[str, Resource], path: str, method: str, op: dict[str, Any]) -> None:
        op_id = op["operationId"]
        if op_id in self.o["methods"]:
            entity, name = self.o["methods"][op_id]
        else:
            verb = next(v for v in VERBS if op_id.startswith(v))
            entity, name = op_id.removeprefix(verb), verb.lower()
        resource = resources[entity]
        path_params = [p for p in op.get("parameters", []) if p["in"] == "path"]
        sids = []
        for p in path_params:
            own = self.o["resources"][entity].get("sid", snake(resource.name) + "_sid")
            pname = own if p["name"] == "Sid" else snake(p["name"])
            prefix = self.sid_prefix(p["name"] if p["name"] != "Sid" else f"{resource.name}Sid", p["schema"])
            sids.append((pname, prefix))
        response = next(iter(op["responses"].values()))
        schema = response.get("content", {}).get("application/json", {}).get("schema", {})
        lists = "$ref" not in schema and "meta" in schema.get("properties", {})
        if lists:
            key = next(k for k in schema["properties"] if k != "meta")
            schema_name = schema["properties"][key]["items"]["$ref"].rsplit("/", 1)[1]
        else:
            schema_name = schema.get("$ref", "").rsplit("/", 1)[-1] or None
        model = pascal(schema_name.rsplit(".", 1)[1]) if schema_name else None
        content = op.get("requestBody", {}).get("content", {})
        params = None
        if "application/x-www-form-urlencoded" in content:
            params = f"{resource.name}{'Create' if op_id.startswith('Create') else 'Update'}"
        query = [
            self.query_field(op_id, p)
            for p in op.get("parameters", [])
            if p["in"] == "query" and p["name"] not in ("PageSize", "Page", "PageToken")
        ]
        if_match = any(p["name"] == "If-Match" for p in op.get("parameters", []))
        query = [q for q in query if q.wire != "If-Match"]
        json_body = []
        if "application/json" in content:
            spec = self.o["json_body"][op_id]
            _, prefix, most = spec["kind"].split(":")
            json_body = [
                Field(
                    spec["name"],
                    spec["wire"],
                    "Iterable[str]",
                    spec["description"],
                    f'query_sid_list("{prefix}", {most})',
                )
            ]
        constant = re.sub(r"(?<!^)(?=[A-Z])", "_", op_id).upper()
        record = {
            "id": op_id,
            "name": name,
            "constant": constant,
            "method": method,
            "path": re.sub(r"\{[A-Za-z]+\}", "{}", path),
            "sids": sids,
            "model": model,
            "schema": schema_name,
            "params": params,
            "query": query,
            "json_body": json_body,
            "if_match": if_match,
            "lists": lists,
        }
        resource.operations.append(record)
        kind = (
            "json"
            if json_body
            else {"GET": "list" if lists else "fetch", "DELETE": "delete"}.get(
                method, "create" if op_id.startswith("Create") else "update"
            )
        )
        summary = self.method_doc(kind, name, resource.name, op, method, path)
        resource.methods.append(
            Method(name, kind, constant, [s[0] for s in sids], query + json_body, params, model, if_match, summary)
        )

    def method_doc(self, kind: str, name: str, entity: str, op: dict[str, Any], method: str, path: str) -> str:
        """The method's one-line docstring: the spec's summary where there is one (1 of 61), else what it does,
        with the request it sends."""
        request = f" (``{method} {path}``)"
        if op.get("summary"):
            return doc(op["summary"]).rstrip(".") + request + "."
        what = re.sub(r"(?<!^)(?=[A-Z])", " ", entity).lower()
        if "statistics" in name:
            label = {"RealTimeStatistics": "Real-time statistics", "CumulativeStatistics": "Cumulative statistics"}
            last = path.rstrip("/").rsplit("/", 1)[1]
            text = label.get(last, "Real-time and cumulative statistics")
            if entity == "Workspace":
                scope = "of the workspace"
            elif "{" + entity + "Sid}" in path:
                scope = f"of one {what}"
            else:
                scope = f"of every {what}, a list" if kind == "list" else f"of the workspace's {what}s"
            if kind == "json":
                scope = f"of up to 50 {what}s in one request"
            return f"{text} {scope}{request}."
        return {
            "fetch": f"Fetch one {what}",
            "list": f"The {what}s, across pages",
            "create": f"Create a {what}",
            "update": f"Update a {what}",
            "delete": f"Delete a {what}",
        }[kind] + f"{request}."


def render(modules: dict[str, dict[str, Any]]) -> dict[Path, str]:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(ROOT / "codegen" / "templates"),
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["wrap"] = lambda text, indent: textwrap.fill(
        text, 116 - indent, break_long_words=False, break_on_hyphens=False
    ).replace("\n", "\n" + " " * indent)
    files = {
        OUT / f"{name}.py": env.get_template("module.py.jinja").render(module=name, **contents)
        for name, contents in modules.items()
    }
    files[OUT / "__init__.py"] = env.get_template("__init__.py.jinja").render(modules=modules)
    return files


def formatted(files: dict[Path, str]) -> dict[Path, str]:
    """The files as ruff would leave them (fixes, then format), without touching the tree."""
    out = {}
    for path, text in files.items():
        fixed = subprocess.run(
            ["ruff", "check", "--fix-only", "--quiet", "--stdin-filename", str(path), "-"],
            input=text,
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=True,
        ).stdout
        out[path] = subprocess.run(
            ["ruff", "format", "--quiet", "--stdin-filename", str(path), "-"],
            input=fixed,
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=True,
        ).stdout
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="fail if a committed module would change")
    args = parser.parse_args()
    spec = json.loads(SPEC.read_text())
    overrides = tomllib.loads(OVERRIDES.read_text())
    files = formatted(render(Generator(spec, overrides).build()))
    stale = sorted(
        path.relative_to(ROOT) for path, text in files.items() if not path.exists() or path.read_text() != text
    )
    if args.check:
        for path in stale:
            print(f"{path} is out of date: run `nox -s generate`", file=sys.stderr)
        return 1 if stale else 0
    for path, text in files.items():
        path.write_text(text)
    print(f"wrote {len(files)} modules ({len(stale)} changed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
