"""Definitions and references of a source file, from tree-sitter.

Each language's grammar comes from its own wheel (`tree-sitter-python`, ...), imported the first time that language
is analyzed; nothing is downloaded at run time. Per language, one query finds in one pass both the definitions (each
capture is named after its kind) and the identifiers the file uses; it is compiled once and shared by all threads,
while parsers are per thread (a parser is not thread-safe).

The result is plain data (`FileSymbols`) that round-trips through JSON so callers can cache it by content digest;
bump `SYNTAX_VERSION` whenever what is extracted changes.
"""

from __future__ import annotations

import importlib
import re
import threading
from dataclasses import dataclass, field

SYNTAX_VERSION = "1"

MAX_BYTES = 4 * 1024 * 1024  # larger inputs (generated or minified code) are not parsed
_MAX_SIGNATURE = 400  # characters; longer headers keep their first whole lines and an ellipsis
_MAX_VALUE_SIGNATURE = 160  # a constant's signature is its first line, which may hold a long literal


@dataclass(frozen=True, slots=True)
class Definition:
    """A named definition; lines are 1-based and inclusive and cover decorators/export/template prefixes."""

    name: str
    kind: str  # function, method, class, interface, type, enum, impl, module, property, constant, variable, macro
    start_line: int
    end_line: int
    signature: str  # the header, verbatim from its first line up to the body, trailing comments trimmed
    parent: str | None = None  # name of the enclosing definition (or receiver/qualifier), if any
    doc: str | None = None  # first line of its docstring or of the comment right above it


@dataclass(frozen=True, slots=True)
class FileSymbols:
    language: str
    definitions: tuple[Definition, ...]
    references: tuple[str, ...]  # identifiers used (not the defining occurrences), deduplicated, sorted
    parsed: bool  # False when the language is unsupported, the input too large, or parsing failed


@dataclass(frozen=True)
class _Spec:
    module: str
    function: str = "language"
    definitions: str = ""  # query text; each capture's name is the definition kind
    references: tuple[str, ...] = ("identifier",)  # node types whose text is a referenced identifier
    wrappers: frozenset[str] = field(default_factory=frozenset)  # nodes that prefix a lone definition


def _patterns(kinds: dict[str, str], *extra: str) -> str:
    return "\n".join([f"({node}) @{kind}" for node, kind in kinds.items()] + list(extra))


_C_DEFINITIONS = {
    "function_definition": "function", "type_definition": "type", "preproc_function_def": "macro",
    "preproc_def": "constant",
}
_PROTOTYPE = "[(function_declarator) (pointer_declarator declarator: (function_declarator))]"
_C_EXTRA = (
    "(struct_specifier name: (_) body: (_)) @class",
    "(union_specifier name: (_) body: (_)) @class",
    "(enum_specifier name: (_) body: (_)) @enum",
    f"(translation_unit (declaration declarator: {_PROTOTYPE}) @function)",
)
_JS_DEFINITIONS = {
    "function_declaration": "function", "generator_function_declaration": "function",
    "class_declaration": "class", "method_definition": "method",
}
_JS_FUNCTION_VALUE = "[(function_expression) (arrow_function)]"
_JS_EXTRA = (
    f"(program (expression_statement (assignment_expression left: (member_expression) right: {_JS_FUNCTION_VALUE})"
    " @function))",  # CommonJS: exports.parse = function () {}
    f"(field_definition value: {_JS_FUNCTION_VALUE}) @method",  # class fields holding arrow functions
) + tuple(
    f"({root} {prefix}({declaration} (variable_declarator name: (identifier)) @variable){suffix})"
    for root in ("program",)
    for prefix, suffix in (("", ""), ("(export_statement ", ")"))
    for declaration in ("lexical_declaration", "variable_declaration")
)
_JS_WRAPPERS = frozenset({"export_statement", "lexical_declaration", "variable_declaration", "expression_statement"})
_TS_EXTRA = _JS_EXTRA[:1] + (f"(public_field_definition value: {_JS_FUNCTION_VALUE}) @method",) + _JS_EXTRA[2:]
_TS_DEFINITIONS = {
    **_JS_DEFINITIONS, "abstract_class_declaration": "class", "interface_declaration": "interface",
    "type_alias_declaration": "type", "enum_declaration": "enum", "internal_module": "module",
    "function_signature": "function", "method_signature": "method", "abstract_method_signature": "method",
}
_TS_REFERENCES = ("identifier", "property_identifier", "type_identifier")

_SPECS: dict[str, _Spec] = {
    "python": _Spec(
        "tree_sitter_python",
        definitions=_patterns(
            {"class_definition": "class", "function_definition": "function", "type_alias_statement": "type"},
            "(module (expression_statement (assignment left: (identifier)) @variable))",
        ),
        wrappers=frozenset({"decorated_definition", "expression_statement"}),
    ),
    "javascript": _Spec(
        "tree_sitter_javascript",
        definitions=_patterns(_JS_DEFINITIONS, *_JS_EXTRA),
        references=("identifier", "property_identifier"),
        wrappers=_JS_WRAPPERS,
    ),
    "typescript": _Spec(
        "tree_sitter_typescript", "language_typescript",
        definitions=_patterns(_TS_DEFINITIONS, *_TS_EXTRA),
        references=_TS_REFERENCES,
        wrappers=_JS_WRAPPERS,
    ),
    "tsx": _Spec(
        "tree_sitter_typescript", "language_tsx",
        definitions=_patterns(_TS_DEFINITIONS, *_TS_EXTRA),
        references=_TS_REFERENCES,
        wrappers=_JS_WRAPPERS,
    ),
    "go": _Spec(
        "tree_sitter_go",
        definitions=_patterns(
            {"function_declaration": "function", "method_declaration": "method", "type_spec": "type",
             "type_alias": "type", "const_spec": "constant"},
            "(source_file (var_declaration (var_spec) @variable))",
        ),
        references=("identifier", "field_identifier", "type_identifier", "package_identifier"),
        wrappers=frozenset({"type_declaration", "const_declaration", "var_declaration"}),
    ),
    "rust": _Spec(
        "tree_sitter_rust",
        definitions=_patterns({
            "function_item": "function", "function_signature_item": "function", "struct_item": "class",
            "union_item": "class", "enum_item": "enum", "trait_item": "interface", "impl_item": "impl",
            "mod_item": "module", "const_item": "constant", "static_item": "constant", "type_item": "type",
            "macro_definition": "macro",
        }),
        references=("identifier", "field_identifier", "type_identifier"),
    ),
    "java": _Spec(
        "tree_sitter_java",
        definitions=_patterns({
            "class_declaration": "class", "interface_declaration": "interface", "enum_declaration": "enum",
            "record_declaration": "class", "annotation_type_declaration": "interface",
            "method_declaration": "method", "constructor_declaration": "method",
        }),
        references=("identifier", "type_identifier"),
    ),
    "c": _Spec(
        "tree_sitter_c",
        definitions=_patterns(_C_DEFINITIONS, *_C_EXTRA),
        references=("identifier", "field_identifier", "type_identifier"),
    ),
    "cpp": _Spec(
        "tree_sitter_cpp",
        definitions=_patterns(
            {**_C_DEFINITIONS, "namespace_definition": "module", "alias_declaration": "type",
             "concept_definition": "type"},
            *_C_EXTRA,
            "(class_specifier name: (_) body: (_)) @class",
            "(field_declaration_list (field_declaration declarator: (function_declarator)) @method)",
            "(field_declaration_list (declaration declarator: (function_declarator)) @method)",
            f"(declaration_list (declaration declarator: {_PROTOTYPE}) @function)",
        ),
        references=("identifier", "field_identifier", "type_identifier", "namespace_identifier"),
        wrappers=frozenset({"template_declaration"}),
    ),
    "csharp": _Spec(
        "tree_sitter_c_sharp",
        definitions=_patterns({
            "class_declaration": "class", "interface_declaration": "interface", "struct_declaration": "class",
            "record_declaration": "class", "enum_declaration": "enum", "method_declaration": "method",
            "constructor_declaration": "method", "destructor_declaration": "method",
            "property_declaration": "property", "namespace_declaration": "module",
            "file_scoped_namespace_declaration": "module", "delegate_declaration": "type",
        }),
    ),
    "ruby": _Spec(
        "tree_sitter_ruby",
        definitions=_patterns(
            {"class": "class", "module": "module", "method": "function", "singleton_method": "function"},
            "(assignment left: (constant)) @constant",
        ),
        references=("identifier", "constant"),
    ),
    "php": _Spec(
        "tree_sitter_php", "language_php",
        definitions=_patterns({
            "class_declaration": "class", "interface_declaration": "interface", "trait_declaration": "interface",
            "enum_declaration": "enum", "function_definition": "function", "method_declaration": "method",
            "namespace_definition": "module", "const_element": "constant",
        }),
        references=("name",),
        wrappers=frozenset({"const_declaration"}),
    ),
    "bash": _Spec(
        "tree_sitter_bash",
        definitions=_patterns({"function_definition": "function"}),
        references=("command_name", "variable_name"),
    ),
    "kotlin": _Spec(
        "tree_sitter_kotlin",
        definitions=_patterns(
            {"class_declaration": "class", "object_declaration": "class", "companion_object": "class",
             "function_declaration": "function", "type_alias": "type"},
            "(source_file (property_declaration) @variable)",
            "(object_declaration (class_body (property_declaration) @variable))",
        ),
    ),
    "swift": _Spec(
        "tree_sitter_swift",
        definitions=_patterns({
            "class_declaration": "class", "protocol_declaration": "interface", "function_declaration": "function",
            "protocol_function_declaration": "method", "init_declaration": "method",
            "typealias_declaration": "type",
        }, "(source_file (property_declaration) @variable)"),
        references=("simple_identifier", "type_identifier"),
    ),
    "scala": _Spec(
        "tree_sitter_scala",
        definitions=_patterns(
            {"class_definition": "class", "object_definition": "class", "trait_definition": "interface",
             "enum_definition": "enum", "function_definition": "function", "function_declaration": "function",
             "type_definition": "type"},
            "(compilation_unit (val_definition) @variable)",
            "(object_definition (template_body (val_definition) @variable))",
        ),
        references=("identifier", "type_identifier"),
    ),
    "lua": _Spec(
        "tree_sitter_lua",
        definitions=_patterns(
            {"function_declaration": "function"},
            "(chunk (assignment_statement (variable_list name: (_)) (expression_list value: (function_definition)))"
            " @function)",
        ),
    ),
}
_ALIASES = {"cuda": "cpp"}  # languages.py names whose sources a grammar above parses well enough

_CLASS_LIKE = frozenset({"class", "interface", "impl", "enum", "type", "module"})
_VALUE_KINDS = frozenset({"constant", "variable"})
_FUNCTION_KINDS = frozenset({"function", "method"})
_FUNCTION_VALUES = frozenset({"arrow_function", "function_expression", "function", "generator_function",
                              "function_definition"})
_BODY_TYPES = frozenset({
    "block", "class_body", "declaration_list", "field_declaration_list", "compound_statement", "function_body",
    "enum_class_body", "template_body", "body_statement", "enum_body", "protocol_body", "enumerator_list",
    "interface_body", "object_type", "statement_block", "enum_member_declaration_list", "enum_declaration_list",
    "do_group", "accessor_list",
})
_NAME_TYPES = frozenset({
    "identifier", "type_identifier", "field_identifier", "simple_identifier", "constant", "name", "word",
    "property_identifier", "qualified_identifier", "qualified_name", "scoped_identifier", "destructor_name",
    "operator_name", "namespace_identifier", "scope_resolution", "dot_index_expression",
    "method_index_expression", "user_type", "package_identifier", "type_alias", "pattern",
    "namespace_name", "scoped_type_identifier", "generic_type", "template_type",
})
_ASSIGNMENTS = frozenset({"assignment", "assignment_statement", "assignment_expression"})
_QUALIFIED = frozenset({"member_expression", "dot_index_expression", "method_index_expression", "qualified_identifier",
                        "scoped_identifier", "scope_resolution", "qualified_name", "scoped_type_identifier"})
_LAST_SEGMENT = re.compile(r"(.*?)(?:::|[.:])([^.:]*)$", re.S)
_KEYWORD_KINDS = {"interface": "interface", "protocol": "interface", "enum": "enum", "trait": "interface"}


@dataclass
class _Language:
    language: object
    query: object  # definitions (captures named by kind) and references (captured as "reference") in one pass


_loaded: dict[str, _Language | None] = {}
_load_lock = threading.Lock()
_local = threading.local()


def supported(language: str) -> bool:
    """Whether `language` (a name from languages.py) has a grammar installed."""
    return _load(_ALIASES.get(language, language)) is not None


def analyze(text: str, language: str) -> FileSymbols:
    """Definitions and references of `text`; never raises: unsupported or unparsable input gives parsed=False."""
    key = _ALIASES.get(language, language)
    loaded = _load(key)
    source = text.encode("utf-8", "surrogatepass")
    if loaded is None or len(source) > MAX_BYTES:
        return FileSymbols(language, (), (), False)
    try:
        return _analyze(source, language, key, loaded)
    except Exception:  # a grammar bug must not stop a pack; the file is then treated as plain text
        return FileSymbols(language, (), (), False)


def to_json(symbols: FileSymbols) -> dict:
    """A JSON-ready dict (compact: definitions as lists) for the cache."""
    return {
        "version": SYNTAX_VERSION,
        "language": symbols.language,
        "parsed": symbols.parsed,
        "definitions": [[d.name, d.kind, d.start_line, d.end_line, d.signature, d.parent, d.doc]
                        for d in symbols.definitions],
        "references": list(symbols.references),
    }


def from_json(data: dict) -> FileSymbols:
    """Inverse of `to_json`; raises ValueError on data from another SYNTAX_VERSION or of the wrong shape."""
    try:
        if data["version"] != SYNTAX_VERSION:
            raise ValueError(f"syntax cache entry has version {data['version']!r}, expected {SYNTAX_VERSION!r}")
        definitions = tuple(Definition(str(n), str(k), int(s), int(e), str(sig), p, d)
                            for n, k, s, e, sig, p, d in data["definitions"])
        return FileSymbols(str(data["language"]), definitions, tuple(map(str, data["references"])),
                           bool(data["parsed"]))
    except (KeyError, TypeError) as error:
        raise ValueError(f"malformed syntax cache entry: {error}") from error


def _load(key: str) -> _Language | None:
    if key in _loaded:
        return _loaded[key]
    with _load_lock:
        if key not in _loaded:
            _loaded[key] = _compile(key)
    return _loaded[key]


def _compile(key: str) -> _Language | None:
    spec = _SPECS.get(key)
    if spec is None:
        return None
    try:
        import tree_sitter

        module = importlib.import_module(spec.module)
        language = tree_sitter.Language(getattr(module, spec.function)())
        references = " ".join(f"({node})" for node in spec.references)
        return _Language(language, tree_sitter.Query(language, f"{spec.definitions}\n[{references}] @reference"))
    except (ImportError, AttributeError, ValueError):  # wheel missing, or built for an incompatible ABI
        return None


def _parser(key: str, language: object):
    parsers = getattr(_local, "parsers", None)
    if parsers is None:
        parsers = _local.parsers = {}
    parser = parsers.get(key)
    if parser is None:
        import tree_sitter

        parser = parsers[key] = tree_sitter.Parser(language)
    return parser


@dataclass
class _Found:
    node: object  # the definition node itself
    outer: object  # the node whose span it covers (a decorator/export/template wrapper, or itself)
    kind: str
    name: str
    defining: object | None  # the identifier node at which the name is defined (not a reference)
    parent: str | None = None


def _analyze(source: bytes, language: str, key: str, loaded: _Language) -> FileSymbols:
    import tree_sitter

    tree = _parser(key, loaded.language).parse(source)
    spec = _SPECS[key]
    found: list[_Found] = []
    captures = tree_sitter.QueryCursor(loaded.query).captures(tree.root_node)
    used = captures.pop("reference", [])
    for kind, nodes in captures.items():
        for node in nodes:
            item = _describe(node, kind, key, spec, source)
            if item is not None:
                found.append(item)
    found.sort(key=lambda f: (f.outer.start_byte, -f.outer.end_byte))
    definitions = _nest(found, source)
    defining = {f.defining.start_byte for f in found if f.defining is not None}
    names: set[bytes] = set()
    for node in used:
        if node.start_byte not in defining and node.end_byte - node.start_byte > 1:
            names.add(source[node.start_byte:node.end_byte])
    references = sorted({n.decode("utf-8", "replace") for n in names})
    return FileSymbols(language, tuple(definitions), tuple(references), True)


def _describe(node, kind: str, key: str, spec: _Spec, source: bytes) -> _Found | None:
    outer = node
    while outer.parent is not None and outer.parent.type in spec.wrappers and \
            len(_definition_children(outer.parent)) == 1:
        outer = outer.parent
    name_node = _name_node(node, key)
    if name_node is None:
        return None
    name = _text(name_node, source).strip()
    qualifier = None
    if name_node.type in _QUALIFIED and kind != "module":  # `M.add`, `Circle::area`, `Foo::Bar` -> add, area, Bar
        qualified = _LAST_SEGMENT.match(name)
        if qualified:
            qualifier, name = qualified.groups()
    if key == "rust" and kind == "impl":
        name = re.sub(r"<.*", "", name)
    if not name or "\n" in name:
        return None
    defining = None if kind == "impl" else _last_leaf(name_node)  # `impl Cache` uses Cache, defines nothing
    kind = _refine(node, kind, key, source)
    return _Found(node, outer, kind, name, defining, _go_receiver(node, source) if key == "go" else qualifier)


def _last_leaf(node):
    """The identifier that names a definition inside a qualified name (`M.add`, `Circle::area`)."""
    while node.named_children:
        node = node.named_children[-1]
    return node


def _definition_children(wrapper) -> list:
    return [c for c in wrapper.named_children if "comment" not in c.type and c.type not in (
        "decorator", "template_parameter_list", "attribute", "type_parameters")]


def _name_node(node, key: str):
    if node.type == "impl_item":
        return node.child_by_field_name("type")
    if node.type in _ASSIGNMENTS:  # python/ruby constants, lua `M.f = function`, js `exports.f = function`
        target = node.child_by_field_name("left") or node.named_children[0]
        if target.type == "variable_list":
            target = target.named_children[0]
        return target
    if node.type == "init_declaration":
        return next((c for c in node.children if c.type == "init"), None)
    if node.type == "type_alias" and key == "kotlin":
        return node.child_by_field_name("type")
    named = node.child_by_field_name("name")
    if named is not None:
        if named.type == "pattern":  # swift `let origin = ...`
            named = named.child_by_field_name("bound_identifier") or named
        return named
    declarator = node.child_by_field_name("declarator")
    if declarator is not None:  # C/C++: descend through pointer/function/reference declarators to the name
        while declarator is not None and declarator.type not in _NAME_TYPES:
            declarator = declarator.child_by_field_name("declarator") or next(
                (c for c in declarator.named_children if c.type in _NAME_TYPES), None)
        return declarator
    pattern = node.child_by_field_name("pattern")  # scala val
    if pattern is not None:
        return pattern if pattern.type == "identifier" else None
    for child in node.named_children:  # kotlin properties, php const_element, swift extensions
        if child.type in ("variable_declaration", "value_binding_pattern"):
            child = next((c for c in child.named_children if c.type in _NAME_TYPES), None)
            if child is not None:
                return child
        elif child.type in _NAME_TYPES:
            return child
    return None


def _refine(node, kind: str, key: str, source: bytes) -> str:
    if kind == "variable":
        value = node.child_by_field_name("value")
        if value is not None and value.type in _FUNCTION_VALUES:
            return "function"
    if key in ("kotlin", "swift") and node.type == "class_declaration":
        for child in node.children:
            if child.type == "modifiers":
                if b"enum" in source[child.start_byte:child.end_byte].split():
                    return "enum"
            elif child.type in _KEYWORD_KINDS:
                return _KEYWORD_KINDS[child.type]
            elif child.is_named:
                break
    if key == "go" and node.type == "type_spec":
        value = node.child_by_field_name("type")
        if value is not None and value.type == "interface_type":
            return "interface"
        if value is not None and value.type == "struct_type":
            return "class"
    return kind


def _go_receiver(node, source: bytes) -> str | None:
    """`func (s *Store[K, V]) Get(...)` -> "Store"."""
    receiver = node.child_by_field_name("receiver")
    parameter = receiver.named_children[0] if receiver is not None and receiver.named_children else None
    kind = parameter.child_by_field_name("type") if parameter is not None else None
    if kind is None:
        return None
    name = re.match(rb"[\s*]*(\w+)", source[kind.start_byte:kind.end_byte])
    return name.group(1).decode() if name else None


def _nest(found: list[_Found], source: bytes) -> list[Definition]:
    """Definitions in source order, each knowing its enclosing definition; locals inside functions dropped."""
    result: list[Definition] = []
    stack: list[tuple[_Found, Definition]] = []
    seen: set[tuple[int, int]] = set()
    for item in found:
        span = (item.outer.start_byte, item.outer.end_byte)
        if span in seen:  # two patterns matched the same node
            continue
        seen.add(span)
        while stack and stack[-1][0].outer.end_byte <= item.outer.start_byte:
            stack.pop()
        enclosing = stack[-1][1] if stack else None
        kind = item.kind
        if enclosing is not None:
            if kind in _VALUE_KINDS and enclosing.kind in _FUNCTION_KINDS:
                continue
            if kind == "function" and enclosing.kind in _CLASS_LIKE and enclosing.kind != "module":
                kind = "method"
        if kind == "variable" and item.name.isupper():
            kind = "constant"
        if kind == "function" and item.parent is not None and item.node.type not in _ASSIGNMENTS:
            kind = "method"  # go receivers, lua `M:f`, c++ `Class::f`
        definition = Definition(
            name=item.name,
            kind=kind,
            start_line=item.outer.start_point.row + 1,
            end_line=_end_line(item.outer),
            signature=_signature(item, kind, source),
            parent=item.parent if item.parent is not None else (enclosing.name if enclosing else None),
            doc=_doc(item, source),
        )
        result.append(definition)
        stack.append((item, definition))
    return result


def _end_line(node) -> int:
    row, column = node.end_point
    if column == 0 and row > node.start_point.row:  # the node ends with its newline
        return row
    return row + 1


def _body(node):
    body = node.child_by_field_name("body")
    if body is None:
        value = node.child_by_field_name("value") or node.child_by_field_name("right")
        if value is None and node.type == "assignment_statement":
            value = node.named_children[-1].named_children[0] if node.named_children[-1].named_children else None
        if value is not None and value.type in _FUNCTION_VALUES:
            body = value.child_by_field_name("body")
    if body is None:
        body = next((c for c in node.named_children if c.type in _BODY_TYPES), None)
    return body


_COMMENT_LINE = re.compile(r"\s*(#|//|/\*|\*|--)")


def _signature(item: _Found, kind: str, source: bytes) -> str:
    start = item.outer.start_byte
    body = _body(item.node)
    if body is None or body.start_byte <= start or kind in _VALUE_KINDS or kind == "type":
        end = source.find(b"\n", start, item.outer.end_byte)
        first = _decode(source[start:end if end >= 0 else item.outer.end_byte]).rstrip()
        limit = _MAX_VALUE_SIGNATURE if kind in _VALUE_KINDS else _MAX_SIGNATURE
        return first if len(first) <= limit else first[:limit - 1] + "…"
    lines = _decode(source[start:body.start_byte]).rstrip().split("\n")
    while len(lines) > 1 and (not lines[-1].strip() or _COMMENT_LINE.match(lines[-1])):
        lines.pop()
    kept, size = [], 0
    for line in lines:  # whole lines only, so that each line of the signature is a line of the source
        size += len(line) + 1
        if kept and size > _MAX_SIGNATURE:
            kept[-1] += " …"
            break
        kept.append(line.rstrip())
    return "\n".join(kept)


_DOC_MARKERS = re.compile(r"^\s*(/\*+!?|\*+/?|//[/!]?|#+|--+(\[=*\[)?|\"\"\"|'''|[rubRUB]*\"\"\"|\")\s?")
_XML_TAG = re.compile(r"</?\w+[^>]*>")


def _doc(item: _Found, source: bytes) -> str | None:
    body = _body(item.node)
    if body is not None and body.type == "block" and body.named_children:  # python docstring
        first = body.named_children[0]
        if first.type == "expression_statement" and first.named_children and \
                first.named_children[0].type == "string":
            return _first_line(_text(first.named_children[0], source))
    comment = None
    node = item.outer
    while True:
        previous = node.prev_named_sibling
        if previous is None or previous.end_point.row < node.start_point.row - 1:
            break
        if "comment" in previous.type:
            comment = previous
        elif previous.type not in ("attribute_item", "decorator", "annotation", "attribute_list"):
            break
        node = previous
    if comment is None:
        return None
    return _first_line(_text(comment, source))


def _first_line(block: str) -> str | None:
    for line in block.split("\n"):
        line = _XML_TAG.sub("", _DOC_MARKERS.sub("", line)).strip().rstrip("*/").strip().strip("\"'").strip()
        if any(character.isalnum() for character in line):  # skip rules such as "=====" and blank lines
            return line
    return None


def _text(node, source: bytes) -> str:
    return _decode(source[node.start_byte:node.end_byte])


def _decode(data: bytes) -> str:
    return data.decode("utf-8", "replace")


@dataclass(frozen=True, slots=True)
class DefinitionNode:
    """A definition with the definitions nested inside it (by line span)."""

    definition: Definition
    children: tuple[DefinitionNode, ...]


def definition_tree(definitions: tuple[Definition, ...] | list[Definition]) -> tuple[DefinitionNode, ...]:
    """Nest definitions by their line spans; a definition that only overlaps another one becomes its sibling."""
    roots: list[tuple[Definition, list]] = []
    stack: list[tuple[Definition, list]] = []
    for definition in sorted(definitions, key=lambda d: (d.start_line, -d.end_line)):
        while stack and stack[-1][0].end_line < definition.end_line:
            stack.pop()
        entry: tuple[Definition, list] = (definition, [])
        (stack[-1][1] if stack else roots).append(entry)
        stack.append(entry)
    return tuple(_freeze(entry) for entry in roots)


def _freeze(entry: tuple[Definition, list]) -> DefinitionNode:
    return DefinitionNode(entry[0], tuple(_freeze(child) for child in entry[1]))
