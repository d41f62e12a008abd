"""Realistic source snippets in every supported language, with the definitions expected from each.

Each expectation is (name, kind, start_line, end_line, parent), checked by hand against the snippet.
"""

from __future__ import annotations

SOURCES = {
    "python": """\
\"\"\"Inventory service.\"\"\"
import dataclasses
from typing import Generic, TypeVar

T = TypeVar("T")
MAX_ITEMS = 100


def _log(message: str) -> None:
    # Write a line to stderr.
    print(message, file=sys.stderr)


@dataclasses.dataclass(frozen=True)
class Item(Generic[T]):
    \"\"\"A stocked item.

    Longer description.
    \"\"\"

    name: str
    value: T

    @property
    def label(self) -> str:
        \"\"\"Display label.\"\"\"
        return self.name.title()

    def scaled(
        self,
        factor: float,
    ) -> "Item[T]":
        def clamp(x):
            return min(x, MAX_ITEMS)

        _log("scaling")
        return Item(self.name, clamp(self.value * factor))


async def fetch_all(urls: list[str]) -> list[bytes]:
    return [await download(u) for u in urls]
""",
    "javascript": """\
import { readFile } from "node:fs/promises";

/**
 * Parses a config file.
 */
export async function loadConfig(path) {
  const text = await readFile(path, "utf8");
  return JSON.parse(text);
}

export const DEFAULT_PORT = 8080;

const handler = (req, res) => {
  res.end(render(req.url));
};

class Router extends EventEmitter {
  constructor(routes) {
    super();
    this.routes = routes;
  }

  // Finds a route.
  match(url) {
    return this.routes.find((r) => r.test(url));
  }
}

function* ids() { let i = 0; while (true) yield i++; }
module.exports = { Router };
""",
    "typescript": """\
import type { Request } from "./http";

/** A user record. */
export interface User {
  id: number;
  name: string;
  greet(other: User): string;
}

export type Id = number | string;

export enum Role { Admin, Guest }

export abstract class Repo<T extends { id: Id }> {
  protected items = new Map<Id, T>();

  abstract validate(item: T): boolean;

  /** Stores an item. */
  save(item: T): T {
    if (!this.validate(item)) throw new Error("invalid");
    this.items.set(item.id, item);
    return item;
  }
}

export namespace Util {
  export function slug(s: string): string { return s.toLowerCase(); }
}

export const findUser = async (req: Request): Promise<User | undefined> => {
  return lookup(req.params.id);
};
""",
    "tsx": """\
import React, { useState } from "react";

type Props = { title: string; items: string[] };

/** Renders a list with a counter. */
export function List({ title, items }: Props) {
  const [count, setCount] = useState(0);
  return (
    <section>
      <h1 onClick={() => setCount(count + 1)}>{title}</h1>
      <ul>{items.map((i) => <li key={i}>{i}</li>)}</ul>
    </section>
  );
}

export default class Panel extends React.Component<Props> {
  render() {
    return <List {...this.props} />;
  }
}
""",
    "go": """\
// Package store keeps items.
package store

import (
	"errors"
	"sync"
)

// ErrMissing is returned for unknown keys.
var ErrMissing = errors.New("missing")

const (
	MaxItems = 100
	prefix   = "item:"
)

// Store is a concurrent map.
type Store[K comparable, V any] struct {
	mu    sync.Mutex
	items map[K]V
}

// Getter reads values.
type Getter interface {
	Get(key string) (string, error)
}

// New makes an empty store.
func New[K comparable, V any]() *Store[K, V] {
	return &Store[K, V]{items: make(map[K]V)}
}

// Get returns the value for key.
func (s *Store[K, V]) Get(key K) (V, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.items[key]
	if !ok {
		return v, ErrMissing
	}
	return v, nil
}
""",
    "rust": """\
use std::collections::HashMap;

/// Maximum number of entries.
pub const MAX: usize = 64;

/// A bounded cache.
#[derive(Debug, Default)]
pub struct Cache<K, V> {
    map: HashMap<K, V>,
}

pub trait Evict {
    fn evict(&mut self) -> usize;
}

impl<K: std::hash::Hash + Eq, V> Cache<K, V> {
    /// Creates an empty cache.
    pub fn new() -> Self {
        Cache { map: HashMap::new() }
    }

    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        if self.map.len() >= MAX {
            self.map.clear();
        }
        self.map.insert(key, value)
    }
}

pub enum Policy { Lru, Fifo }

mod tests {
    fn helper() -> u8 { 1 }
}

macro_rules! square { ($x:expr) => { $x * $x }; }
""",
    "java": """\
package com.example.shop;

import java.util.List;

/**
 * Computes order totals.
 */
public class OrderService<T extends Order> implements Service {
    private static final int LIMIT = 10;

    public OrderService(Repository repo) {
        this.repo = repo;
    }

    /** Sums the order lines. */
    @Override
    public long total(T order) {
        return order.lines().stream().mapToLong(Line::price).sum();
    }

    interface Listener { void onTotal(long value); }

    enum Status { OPEN, CLOSED }

    record Line(String sku, long price) {}
}
""",
    "c": """\
#include <stdlib.h>
#include "buf.h"

#define BUF_MIN 16
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* A growable byte buffer. */
struct buffer {
    char *data;
    size_t len;
};

typedef struct buffer buffer_t;

enum mode { MODE_READ, MODE_WRITE };

buffer_t *buf_new(size_t cap);

/* Grows the buffer to at least n bytes. */
static int buf_grow(buffer_t *b, size_t n)
{
    char *p = realloc(b->data, MAX(n, BUF_MIN));
    if (p == NULL)
        return -1;
    b->data = p;
    return 0;
}
""",
    "cpp": """\
#include <vector>
namespace geo {
/// A point.
template <typename T>
struct Point { T x; T y; };

class Shape {
public:
    virtual ~Shape() = default;
    virtual double area() const = 0;
    int id() const { return id_; }
private:
    int id_;
};

double Circle::area() const { return 3.14 * r * r; }
static int *make(int n) { return new int[n]; }
#define MAX(a, b) ((a) > (b) ? (a) : (b))
typedef unsigned int uint;
enum class Color { Red, Green };
int count(const std::vector<int>& v);
}
""",
    "csharp": """\
using System;

namespace Demo.Shapes
{
    /// <summary>A shape.</summary>
    public interface IShape { double Area(); }

    public record Point(int X, int Y);

    public class Circle : IShape
    {
        public const double Tau = 6.28;
        public double R { get; set; }
        public Circle(double r) { R = r; }
        public double Area() => Math.PI * R * R;
        public T Pick<T>(T a) where T : class { return a; }
    }

    public enum Color { Red, Green }
    public struct Size { public int W; }
    public delegate void Handler(int x);
}
""",
    "ruby": """\
require "json"

# Geometry helpers.
module Geometry
  PI2 = Math::PI * 2

  # A circle.
  class Circle < Shape
    attr_reader :r

    def initialize(r)
      @r = r
    end

    def area
      Math::PI * r**2
    end

    def self.unit
      new(1)
    end
  end
end
""",
    "php": """\
<?php
namespace App\\Models;

use App\\Contracts\\Shape;

const VERSION = "1.0";

/**
 * A circle.
 */
class Circle extends Base implements Shape
{
    const SIDES = 0;
    private float $r;

    public function __construct(float $r) { $this->r = $r; }

    public function area(): float
    {
        return M_PI * $this->r ** 2;
    }
}

interface Shape { public function area(): float; }
trait Named { public function name() { return static::class; } }
enum Suit: string { case Hearts = 'H'; }
function make_circle(float $r): Circle { return new Circle($r); }
""",
    "bash": """\
#!/usr/bin/env bash
set -euo pipefail
# Print usage.
usage() {
  echo "usage: $0 <dir>"
}
function build {
  local dir="$1"
  make -C "$dir"
}
build "$@"
""",
    "kotlin": """\
package demo.shapes

/** A shape with an area. */
interface Shape {
    fun area(): Double
}

data class Circle(val r: Double) : Shape {
    override fun area(): Double = Math.PI * r * r
}

object Registry {
    const val MAX = 10
    fun <T : Shape> register(shape: T): T {
        println(shape.area())
        return shape
    }
}

enum class Color { RED, GREEN }
typealias Shapes = List<Shape>
fun main() { Registry.register(Circle(1.0)) }
""",
    "swift": """\
import Foundation

/// Something that can be drawn.
protocol Drawable {
    func draw() -> String
}

struct Point: Drawable {
    let x: Int
    func draw() -> String { return "(\\(x))" }
}

class Canvas<T: Drawable> {
    var items: [T] = []
    init(items: [T]) { self.items = items }
    func render() -> [String] {
        return items.map { $0.draw() }
    }
}

enum Mode { case fast, slow }
extension Canvas { func count() -> Int { items.count } }
typealias Points = [Point]
let origin = Point(x: 0)
""",
    "scala": """\
package demo

/** Shapes. */
trait Shape {
  def area: Double
}

case class Circle(r: Double) extends Shape {
  def area: Double = math.Pi * r * r
}

object Registry {
  val Max = 10
  def register[T <: Shape](shape: T): T = {
    println(shape.area)
    shape
  }
}

enum Color { case Red, Green }
type Shapes = List[Shape]
""",
    "lua": """\
-- Vector helpers.
local M = {}

--- Adds two vectors.
function M.add(a, b)
  return { x = a.x + b.x }
end

function M:scale(k)
  return self.x * k
end

local function helper(v)
  return math.sqrt(v.x)
end

M.norm = function(v) return helper(v) end
return M
""",
}

DEFINITIONS = {
    "python": [
        ('T', 'constant', 5, 5, None),
        ('MAX_ITEMS', 'constant', 6, 6, None),
        ('_log', 'function', 9, 11, None),
        ('Item', 'class', 14, 37, None),
        ('label', 'method', 24, 27, 'Item'),
        ('scaled', 'method', 29, 37, 'Item'),
        ('clamp', 'function', 33, 34, 'scaled'),
        ('fetch_all', 'function', 40, 41, None),
    ],
    "javascript": [
        ('loadConfig', 'function', 6, 9, None),
        ('DEFAULT_PORT', 'constant', 11, 11, None),
        ('handler', 'function', 13, 15, None),
        ('Router', 'class', 17, 27, None),
        ('constructor', 'method', 18, 21, 'Router'),
        ('match', 'method', 24, 26, 'Router'),
        ('ids', 'function', 29, 29, None),
    ],
    "typescript": [
        ('User', 'interface', 4, 8, None),
        ('greet', 'method', 7, 7, 'User'),
        ('Id', 'type', 10, 10, None),
        ('Role', 'enum', 12, 12, None),
        ('Repo', 'class', 14, 25, None),
        ('validate', 'method', 17, 17, 'Repo'),
        ('save', 'method', 20, 24, 'Repo'),
        ('Util', 'module', 27, 29, None),
        ('slug', 'function', 28, 28, 'Util'),
        ('findUser', 'function', 31, 33, None),
    ],
    "tsx": [
        ('Props', 'type', 3, 3, None),
        ('List', 'function', 6, 14, None),
        ('Panel', 'class', 16, 20, None),
        ('render', 'method', 17, 19, 'Panel'),
    ],
    "go": [
        ('ErrMissing', 'variable', 10, 10, None),
        ('MaxItems', 'constant', 13, 13, None),
        ('prefix', 'constant', 14, 14, None),
        ('Store', 'class', 18, 21, None),
        ('Getter', 'interface', 24, 26, None),
        ('New', 'function', 29, 31, None),
        ('Get', 'method', 34, 42, 'Store'),
    ],
    "rust": [
        ('MAX', 'constant', 4, 4, None),
        ('Cache', 'class', 8, 10, None),
        ('Evict', 'interface', 12, 14, None),
        ('evict', 'method', 13, 13, 'Evict'),
        ('Cache', 'impl', 16, 28, None),
        ('new', 'method', 18, 20, 'Cache'),
        ('insert', 'method', 22, 27, 'Cache'),
        ('Policy', 'enum', 30, 30, None),
        ('tests', 'module', 32, 34, None),
        ('helper', 'function', 33, 33, 'tests'),
        ('square', 'macro', 36, 36, None),
    ],
    "java": [
        ('OrderService', 'class', 8, 26, None),
        ('OrderService', 'method', 11, 13, 'OrderService'),
        ('total', 'method', 16, 19, 'OrderService'),
        ('Listener', 'interface', 21, 21, 'OrderService'),
        ('onTotal', 'method', 21, 21, 'Listener'),
        ('Status', 'enum', 23, 23, 'OrderService'),
        ('Line', 'class', 25, 25, 'OrderService'),
    ],
    "c": [
        ('BUF_MIN', 'constant', 4, 4, None),
        ('MAX', 'macro', 5, 5, None),
        ('buffer', 'class', 8, 11, None),
        ('buffer_t', 'type', 13, 13, None),
        ('mode', 'enum', 15, 15, None),
        ('buf_new', 'function', 17, 17, None),
        ('buf_grow', 'function', 20, 27, None),
    ],
    "cpp": [
        ('geo', 'module', 2, 22, None),
        ('Point', 'class', 4, 5, 'geo'),
        ('Shape', 'class', 7, 14, 'geo'),
        ('~Shape', 'method', 9, 9, 'Shape'),
        ('area', 'method', 10, 10, 'Shape'),
        ('id', 'method', 11, 11, 'Shape'),
        ('area', 'method', 16, 16, 'Circle'),
        ('make', 'function', 17, 17, 'geo'),
        ('MAX', 'macro', 18, 18, 'geo'),
        ('uint', 'type', 19, 19, 'geo'),
        ('Color', 'enum', 20, 20, 'geo'),
        ('count', 'function', 21, 21, 'geo'),
    ],
    "csharp": [
        ('Demo.Shapes', 'module', 3, 22, None),
        ('IShape', 'interface', 6, 6, 'Demo.Shapes'),
        ('Area', 'method', 6, 6, 'IShape'),
        ('Point', 'class', 8, 8, 'Demo.Shapes'),
        ('Circle', 'class', 10, 17, 'Demo.Shapes'),
        ('R', 'property', 13, 13, 'Circle'),
        ('Circle', 'method', 14, 14, 'Circle'),
        ('Area', 'method', 15, 15, 'Circle'),
        ('Pick', 'method', 16, 16, 'Circle'),
        ('Color', 'enum', 19, 19, 'Demo.Shapes'),
        ('Size', 'class', 20, 20, 'Demo.Shapes'),
        ('Handler', 'type', 21, 21, 'Demo.Shapes'),
    ],
    "ruby": [
        ('Geometry', 'module', 4, 23, None),
        ('PI2', 'constant', 5, 5, 'Geometry'),
        ('Circle', 'class', 8, 22, 'Geometry'),
        ('initialize', 'method', 11, 13, 'Circle'),
        ('area', 'method', 15, 17, 'Circle'),
        ('unit', 'method', 19, 21, 'Circle'),
    ],
    "php": [
        ('App\\Models', 'module', 2, 2, None),
        ('VERSION', 'constant', 6, 6, None),
        ('Circle', 'class', 11, 22, None),
        ('SIDES', 'constant', 13, 13, 'Circle'),
        ('__construct', 'method', 16, 16, 'Circle'),
        ('area', 'method', 18, 21, 'Circle'),
        ('Shape', 'interface', 24, 24, None),
        ('area', 'method', 24, 24, 'Shape'),
        ('Named', 'interface', 25, 25, None),
        ('name', 'method', 25, 25, 'Named'),
        ('Suit', 'enum', 26, 26, None),
        ('make_circle', 'function', 27, 27, None),
    ],
    "bash": [
        ('usage', 'function', 4, 6, None),
        ('build', 'function', 7, 10, None),
    ],
    "kotlin": [
        ('Shape', 'interface', 4, 6, None),
        ('area', 'method', 5, 5, 'Shape'),
        ('Circle', 'class', 8, 10, None),
        ('area', 'method', 9, 9, 'Circle'),
        ('Registry', 'class', 12, 18, None),
        ('MAX', 'constant', 13, 13, 'Registry'),
        ('register', 'method', 14, 17, 'Registry'),
        ('Color', 'enum', 20, 20, None),
        ('Shapes', 'type', 21, 21, None),
        ('main', 'function', 22, 22, None),
    ],
    "swift": [
        ('Drawable', 'interface', 4, 6, None),
        ('draw', 'method', 5, 5, 'Drawable'),
        ('Point', 'class', 8, 11, None),
        ('draw', 'method', 10, 10, 'Point'),
        ('Canvas', 'class', 13, 19, None),
        ('init', 'method', 15, 15, 'Canvas'),
        ('render', 'method', 16, 18, 'Canvas'),
        ('Mode', 'enum', 21, 21, None),
        ('Canvas', 'class', 22, 22, None),
        ('count', 'method', 22, 22, 'Canvas'),
        ('Points', 'type', 23, 23, None),
        ('origin', 'variable', 24, 24, None),
    ],
    "scala": [
        ('Shape', 'interface', 4, 6, None),
        ('area', 'method', 5, 5, 'Shape'),
        ('Circle', 'class', 8, 10, None),
        ('area', 'method', 9, 9, 'Circle'),
        ('Registry', 'class', 12, 18, None),
        ('Max', 'variable', 13, 13, 'Registry'),
        ('register', 'method', 14, 17, 'Registry'),
        ('Color', 'enum', 20, 20, None),
        ('Shapes', 'type', 21, 21, None),
    ],
    "lua": [
        ('add', 'method', 5, 7, 'M'),
        ('scale', 'method', 9, 11, 'M'),
        ('helper', 'function', 13, 15, None),
        ('norm', 'function', 17, 17, 'M'),
    ],
}
