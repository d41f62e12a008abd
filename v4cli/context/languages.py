"""Language names for documents, from the file name, the extension or a shebang line.

Names are lowercase and stable (the syntax stage maps them to tree-sitter grammars): "python", "javascript",
"typescript", "tsx", "go", "rust", ... and "text" when nothing is known.
"""

from __future__ import annotations

import re

_BY_EXTENSION = {
    "py": "python", "pyi": "python", "pyw": "python", "pyx": "cython", "pxd": "cython",
    "js": "javascript", "mjs": "javascript", "cjs": "javascript", "jsx": "javascript",
    "ts": "typescript", "mts": "typescript", "cts": "typescript", "tsx": "tsx",
    "go": "go", "rs": "rust", "java": "java", "kt": "kotlin", "kts": "kotlin", "scala": "scala", "sc": "scala",
    "swift": "swift", "c": "c", "h": "c", "cc": "cpp", "cpp": "cpp", "cxx": "cpp", "c++": "cpp", "hh": "cpp",
    "hpp": "cpp", "hxx": "cpp", "h++": "cpp", "ipp": "cpp", "inl": "cpp", "cu": "cuda", "cuh": "cuda",
    "m": "objc", "mm": "objcpp", "cs": "csharp", "fs": "fsharp", "fsx": "fsharp", "vb": "vbnet",
    "rb": "ruby", "rake": "ruby", "gemspec": "ruby", "php": "php", "lua": "lua", "pl": "perl", "pm": "perl",
    "r": "r", "jl": "julia", "dart": "dart", "ex": "elixir", "exs": "elixir", "erl": "erlang", "hrl": "erlang",
    "hs": "haskell", "ml": "ocaml", "mli": "ocaml", "clj": "clojure", "cljs": "clojure", "cljc": "clojure",
    "el": "elisp", "lisp": "commonlisp", "scm": "scheme", "rkt": "racket", "zig": "zig", "nim": "nim",
    "v": "verilog", "sv": "systemverilog", "vhd": "vhdl", "vhdl": "vhdl", "sol": "solidity", "groovy": "groovy",
    "gradle": "groovy", "elm": "elm", "purs": "purescript", "cr": "crystal", "d": "d", "f90": "fortran",
    "f": "fortran", "for": "fortran", "pas": "pascal", "ada": "ada", "adb": "ada", "ads": "ada",
    "sh": "bash", "bash": "bash", "zsh": "bash", "ksh": "bash", "fish": "fish", "ps1": "powershell",
    "psm1": "powershell", "bat": "batch", "cmd": "batch", "awk": "awk", "sed": "sed", "tcl": "tcl",
    "sql": "sql", "graphql": "graphql", "gql": "graphql", "proto": "protobuf", "thrift": "thrift",
    "html": "html", "htm": "html", "xhtml": "html", "css": "css", "scss": "scss", "sass": "sass", "less": "less",
    "vue": "vue", "svelte": "svelte", "astro": "astro", "jinja": "jinja", "j2": "jinja", "jinja2": "jinja",
    "hbs": "handlebars", "mustache": "handlebars", "erb": "erb", "ejs": "ejs", "twig": "twig",
    "md": "markdown", "markdown": "markdown", "mdx": "markdown", "rst": "rst", "adoc": "asciidoc",
    "org": "org", "tex": "latex", "sty": "latex", "bib": "bibtex", "txt": "text", "text": "text",
    "json": "json", "jsonc": "json", "json5": "json", "jsonl": "json", "ndjson": "json", "ipynb": "json",
    "geojson": "json", "yaml": "yaml", "yml": "yaml", "toml": "toml", "ini": "ini", "cfg": "ini", "conf": "ini",
    "properties": "properties", "env": "dotenv", "xml": "xml", "xsd": "xml", "xsl": "xml", "svg": "xml",
    "plist": "xml", "csproj": "xml", "vcxproj": "xml", "pom": "xml", "csv": "csv", "tsv": "tsv",
    "diff": "diff", "patch": "diff", "tf": "hcl", "tfvars": "hcl", "hcl": "hcl", "nix": "nix",
    "cmake": "cmake", "mk": "make", "mak": "make", "dockerfile": "dockerfile", "bzl": "starlark",
    "star": "starlark", "cue": "cue", "dhall": "dhall", "prisma": "prisma", "wgsl": "wgsl", "glsl": "glsl",
    "hlsl": "hlsl", "asm": "asm", "s": "asm", "ll": "llvm", "wat": "wasm-text", "log": "log",
}

_BY_NAME = {
    "makefile": "make", "gnumakefile": "make", "dockerfile": "dockerfile", "containerfile": "dockerfile",
    "cmakelists.txt": "cmake", "rakefile": "ruby", "gemfile": "ruby", "podfile": "ruby", "vagrantfile": "ruby",
    "brewfile": "ruby", "justfile": "just", "build.bazel": "starlark", "module.bazel": "starlark",
    "tiltfile": "starlark", "jenkinsfile": "groovy",
    "procfile": "yaml", ".bashrc": "bash", ".bash_profile": "bash", ".zshrc": "bash", ".profile": "bash",
    "go.mod": "gomod", "go.work": "gomod", ".gitignore": "gitignore", ".dockerignore": "gitignore",
    ".ignore": "gitignore", ".v4ignore": "gitignore", ".gitattributes": "gitattributes",
    ".editorconfig": "ini", ".env": "dotenv", "license": "text", "copying": "text", "readme": "text",
}
_BY_EXACT_NAME = {"BUILD": "starlark", "WORKSPACE": "starlark"}  # Bazel; a lowercase `build` is a script

_BY_INTERPRETER = {
    "python": "python", "pypy": "python", "node": "javascript", "nodejs": "javascript", "bun": "javascript",
    "deno": "typescript", "ts-node": "typescript", "tsx": "typescript", "sh": "bash", "bash": "bash",
    "dash": "bash", "zsh": "bash", "ksh": "bash", "fish": "fish", "ruby": "ruby", "perl": "perl", "php": "php",
    "lua": "lua", "rscript": "r", "julia": "julia", "awk": "awk", "gawk": "awk", "tclsh": "tcl",
    "pwsh": "powershell", "elixir": "elixir", "escript": "erlang", "runghc": "haskell", "make": "make",
}

_SHEBANG = re.compile(r"#!\s*(\S+)(?:\s+(?:-\S+\s+)*(\S+))?")


def language_for(name: str, text: str = "") -> str:
    """Language of a file from its basename, then its extension, then a `#!` first line; "text" otherwise."""
    if name in _BY_EXACT_NAME:
        return _BY_EXACT_NAME[name]
    lowered = name.lower()
    if lowered in _BY_NAME:
        return _BY_NAME[lowered]
    if lowered.startswith("dockerfile.") or lowered.endswith(".dockerfile"):
        return "dockerfile"
    if lowered.startswith((".env.", "makefile.")):
        return "dotenv" if lowered.startswith(".env.") else "make"
    stem, dot, extension = lowered.rpartition(".")
    if dot and stem and extension in _BY_EXTENSION:
        return _BY_EXTENSION[extension]
    if text.startswith("#!"):
        return _from_shebang(text[: text.find("\n")] if "\n" in text else text[:200])
    return "text"


def _from_shebang(line: str) -> str:
    match = _SHEBANG.match(line)
    if match is None:
        return "text"
    program = match.group(1).rsplit("/", 1)[-1]
    if program == "env" and match.group(2):
        program = match.group(2).rsplit("/", 1)[-1]
    program = re.sub(r"[\d.]+$", "", program.lower())  # python3.12 -> python
    return _BY_INTERPRETER.get(program, "text")
