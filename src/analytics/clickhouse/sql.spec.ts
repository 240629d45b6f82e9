import {
  identifier,
  integer,
  joinSql,
  literal,
  quoteArray,
  quoteNumber,
  quoteString,
  Sql,
  sql,
  tuple,
} from './sql';

describe('ClickHouse sql helper', () => {
  describe('quoteString', () => {
    it('escapes backslash and single quote, nothing else printable', () => {
      expect(quoteString('')).toBe("''");
      expect(quoteString("O'Brien")).toBe("'O\\'Brien'");
      expect(quoteString('a\\b')).toBe("'a\\\\b'");
      expect(quoteString("\\'")).toBe("'\\\\\\''");
      expect(quoteString('"`{x:String} $1 ? %s --')).toBe("'\"`{x:String} $1 ? %s --'");
    });

    it('writes control characters, NUL and DEL as \\xHH', () => {
      expect(quoteString('a\u0000b')).toBe("'a\\x00b'");
      expect(quoteString('\n\t\r')).toBe("'\\x0a\\x09\\x0d'");
      expect(quoteString('\u001f\u007f')).toBe("'\\x1f\\x7f'");
      for (let code = 0; code < 0x20; code++) {
        expect(quoteString(String.fromCharCode(code))).toMatch(/^'\\x[0-9a-f]{2}'$/);
      }
    });

    it('keeps non-ASCII text as is', () => {
      expect(quoteString('🙂 ünïcödé 中文 \u202e')).toBe("'🙂 ünïcödé 中文 \u202e'");
    });

    it('leaves no unescaped quote that could end the literal', () => {
      const nasty = "'; DROP TABLE decisions; --\\' \\\\' '' \\";
      const body = quoteString(nasty).slice(1, -1);
      // Scan as ClickHouse's lexer does: a backslash takes the next character with it.
      for (let i = 0; i < body.length; i++) {
        if (body[i] === '\\') i++;
        else expect(body[i]).not.toBe("'");
      }
    });

    it('refuses non-strings from untyped callers', () => {
      expect(() => quoteString(1 as unknown as string)).toThrow(TypeError);
    });
  });

  describe('quoteNumber', () => {
    it('renders integers and finite decimals', () => {
      expect(quoteNumber(0)).toBe('0');
      expect(quoteNumber(-0)).toBe('0');
      expect(quoteNumber(1763640000000)).toBe('1763640000000');
      expect(quoteNumber(0.5)).toBe('0.5');
      expect(quoteNumber(1e-7)).toBe('1e-7');
      expect(quoteNumber(12345678901234567890n)).toBe('12345678901234567890');
    });

    it('parenthesises negatives so that `x -${n}` cannot become a -- comment', () => {
      expect(quoteNumber(-5)).toBe('(-5)');
      expect(quoteNumber(-1.5)).toBe('(-1.5)');
      expect(quoteNumber(-3n)).toBe('(-3)');
      expect(sql`SELECT 1 -${-5}`.text).toBe('SELECT 1 -(-5)');
    });

    it('refuses NaN, infinities and unsafe integers', () => {
      expect(() => quoteNumber(NaN)).toThrow(TypeError);
      expect(() => quoteNumber(Infinity)).toThrow(TypeError);
      expect(() => quoteNumber(-Infinity)).toThrow(TypeError);
      expect(() => quoteNumber(2 ** 53)).toThrow(RangeError);
      expect(() => quoteNumber('1' as unknown as number)).toThrow(TypeError);
    });

    it('integer() checks range and integrality', () => {
      expect(integer(5, 0, 10)).toBe(5);
      expect(() => integer(1.5)).toThrow(RangeError);
      expect(() => integer(-1, 0)).toThrow(RangeError);
      expect(() => integer(11, 0, 10)).toThrow(RangeError);
    });
  });

  describe('arrays and tuples', () => {
    it('renders arrays as [..] and IN lists as (..)', () => {
      expect(quoteArray(['a', "b'"])).toBe("['a', 'b\\'']");
      expect(quoteArray([])).toBe('[]');
      expect(literal([1, -2])).toBe('[1, (-2)]');
      expect(tuple(['x']).text).toBe("('x')");
      expect(sql`id IN ${tuple(['a', 'b'])}`.text).toBe("id IN ('a', 'b')");
      expect(sql`has(${['a']}, x)`.text).toBe("has(['a'], x)");
    });

    it('refuses an empty IN list', () => {
      expect(() => tuple([])).toThrow(RangeError);
    });
  });

  describe('sql tag', () => {
    it('escapes every interpolated value and inserts fragments as they are', () => {
      const where = joinSql([sql`a = ${"x'"}`, sql`b < ${3}`], ' AND ');
      expect(sql`SELECT * FROM t WHERE ${where} LIMIT ${10}`.text).toBe(
        "SELECT * FROM t WHERE a = 'x\\'' AND b < 3 LIMIT 10",
      );
      expect(sql`SELECT ${true}, ${false}`.text).toBe('SELECT 1, 0');
    });

    it('cannot be called with a hand-made string array', () => {
      const fake = ['SELECT ', ''] as unknown as TemplateStringsArray;
      expect(() => sql(fake, 'x')).toThrow(TypeError);
    });

    it('refuses null, undefined and objects', () => {
      for (const bad of [null, undefined, {}, new Date()]) {
        expect(() => sql`SELECT ${bad as string}`).toThrow(TypeError);
      }
    });

    it('Sql fragments cannot be made outside the module', () => {
      expect(() => new Sql(Symbol('sql'), 'DROP TABLE decisions')).toThrow(TypeError);
    });
  });

  describe('identifier', () => {
    it('accepts plain names and back-quotes them', () => {
      expect(identifier('bulwark').text).toBe('`bulwark`');
      expect(identifier('_db_2').text).toBe('`_db_2`');
    });

    it('refuses anything else', () => {
      for (const bad of ['', '1db', 'a-b', 'a b', 'a`b', 'db;', 'a.b', 'ü', 'x'.repeat(64)]) {
        expect(() => identifier(bad)).toThrow(TypeError);
      }
    });
  });
});
