// The names every chat template can call: jinja2's range/dict/namespace and transformers' raise_exception/strftime_now.

import Foundation
#if canImport(Glibc)
import Glibc
#endif

extension JinjaInterpreter {
    /// jinja2's sandbox caps range() at MAX_RANGE (jinja2/sandbox.py).
    static let maxRange = 100_000

    func globalValue(_ name: String) -> JinjaValue? {
        switch name {
        case "range":
            return .function(JinjaFunction("range") { a, _, i in
                guard !a.isEmpty, a.count <= 3, let ints = Optional(a.compactMap(\.integer)), ints.count == a.count else {
                    throw i.error(.type, "range expects 1 to 3 integer arguments")
                }
                let (start, stop, step) = a.count == 1 ? (0, ints[0], 1) : (ints[0], ints[1], a.count == 3 ? ints[2] : 1)
                guard step != 0 else { throw i.error(.type, "range() arg 3 must not be zero") }
                let n = step > 0 ? (stop > start ? (stop - start + step - 1) / step : 0)
                                 : (start > stop ? (start - stop - step - 1) / -step : 0)
                guard n <= Self.maxRange else {
                    throw i.error(.limit, "Range too big. The sandbox blocks ranges larger than MAX_RANGE (\(Self.maxRange)).")
                }
                return .list((0..<n).map { .int(start + $0 * step) })
            })
        case "namespace":
            // transformers' TemplateNamespace: namespace(mapping?, **attrs); underscore-prefixed names refused
            return .function(JinjaFunction("namespace") { a, k, i in
                var d = JinjaDict()
                if let first = a.first {
                    guard case .dict(let m) = first, a.count == 1 else { throw i.error(.type, "namespace() takes a mapping") }
                    d = m
                }
                for (key, v) in k { d[key] = v }
                for key in d.keys { if case .string(let s) = key, s.hasPrefix("_") {
                    throw i.error(.security, "Chat templates cannot store underscore-prefixed attributes on a namespace, but got '\(s)'. Please rename the attribute.")
                } }
                return try i.nested(.namespace(JinjaNamespace(d)))
            })
        case "dict":
            return .function(JinjaFunction("dict") { a, k, i in
                var d = JinjaDict()
                if let first = a.first {
                    switch first {
                    case .dict(let m): d = m
                    default:
                        for pair in try i.iterate(first) {
                            let kv = try i.iterate(pair)
                            guard kv.count == 2 else { throw i.error(.type, "dictionary update sequence element has length \(kv.count); 2 is required") }
                            d[kv[0]] = kv[1]
                        }
                    }
                }
                for (key, v) in k { d[key] = v }
                return try i.nested(.dict(d))
            })
        case "raise_exception":
            return .function(JinjaFunction("raise_exception") { a, k, i in
                let message = JinjaInterpreter.argument(a, k, 0, "message")?.pyStr ?? ""
                throw i.error(.raised, message)
            })
        case "strftime_now":
            return .function(JinjaFunction("strftime_now") { a, k, i in
                guard case .string(let format)? = JinjaInterpreter.argument(a, k, 0, "format") else {
                    throw i.error(.type, "strftime() argument 1 must be str")
                }
                return .string(try i.strftime(format))
            })
        case "lipsum", "cycler", "joiner":
            return .function(JinjaFunction(name) { _, _, i in throw i.error(.unsupported, "the global \(name)()") })
        default:
            return nil
        }
    }

    /// Python's `datetime.strftime` on Linux: %f, %z, %Z as Python handles them (naive datetime), the rest by
    /// the C library (CPython's time.strftime calls it) in the C locale.
    func strftime(_ format: String) throws -> String {
        var parts = now.brokenDown
        var pyFormat = ""
        var it = format.unicodeScalars.makeIterator()
        while let u = it.next() {
            guard u == "%" else { pyFormat.unicodeScalars.append(u); continue }
            guard let c = it.next() else { pyFormat += "%"; break }
            switch c {
            case "f": pyFormat += String(format: "%06d", now.microsecond)
            case "z", "Z": break
            default: pyFormat += "%" + String(c)
            }
        }
        guard pyFormat.utf8.count < 4096 else { throw error(.limit, "strftime format too long") }
        var buffer = [CChar](repeating: 0, count: 16384)
        let n = Glibc.strftime(&buffer, buffer.count, pyFormat, &parts)
        return String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// A naive local date and time, what Python's `datetime.now()` gives `strftime_now`.
public struct JinjaDate: Sendable, Equatable {
    public var year: Int, month: Int, day: Int
    public var hour = 0, minute = 0, second = 0, microsecond = 0

    public init(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0, microsecond: Int = 0) {
        (self.year, self.month, self.day, self.hour, self.minute, self.second, self.microsecond) =
            (year, month, day, hour, minute, second, microsecond)
    }

    /// The machine's local time now.
    public static func now() -> JinjaDate {
        var tv = timeval()
        gettimeofday(&tv, nil)
        var t = tv.tv_sec
        var parts = tm()
        localtime_r(&t, &parts)
        return JinjaDate(year: Int(parts.tm_year) + 1900, month: Int(parts.tm_mon) + 1, day: Int(parts.tm_mday),
                         hour: Int(parts.tm_hour), minute: Int(parts.tm_min), second: Int(parts.tm_sec),
                         microsecond: Int(tv.tv_usec))
    }

    /// `YYYY-MM-DD` (midnight), as `--date` takes it; nil when malformed or not a real date.
    public init?(iso: String) {
        let p = iso.split(separator: "-", omittingEmptySubsequences: false)
        guard p.count == 3, p[0].count == 4, p[1].count == 2, p[2].count == 2,
              let y = Int(p[0]), let m = Int(p[1]), let d = Int(p[2]), y >= 1, (1...12).contains(m), d >= 1 else { return nil }
        self.init(year: y, month: m, day: d)
        guard brokenDown.tm_mday == Int32(d) else { return nil }   // 2025-02-30 normalises to March: refused
    }

    /// A C `tm` with weekday and day of year filled in (timegm normalises them).
    var brokenDown: tm {
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        var t = timegm(&parts)
        var out = tm()
        gmtime_r(&t, &out)
        return out
    }
}
