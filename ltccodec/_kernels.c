/* Compiled kernels for the hot loops of ltccodec; optional, with a numpy/constriction path that defines each of them
   (ltccodec/kernels.py says whether they are built; tests/test_kernels.py and tests/test_rangecoder.py compare).

   - The range coder: constriction 0.5's queue coder (RangeEncoder<u32, u64>, models at 24-bit precision)
     re-implemented word for word: same state update, same carry handling ("inverted" words held back until the
     carry is known), same sealing (docs/FORMAT.md spells it out). It codes against the left-cumulative rows that
     constriction's `Categorical(perfect=False)` makes from our dyadic pmfs (`coding.rangecoder.PmfTable.cdf`).
   - The box code of one coordinate, condition and coding fused (`coding.box.condition`).
   - Closest points of E8, D_n, Barnes–Wall and Leech, the same IEEE operations in the same order as the numpy
     rules (compiled with -ffp-contract=off: no fused multiply-add), and sparse integer products.
   - The distance code's per-vector tables (`coding.distance.VectorTables`).

   Calling convention: the Python side passes C-contiguous buffers of the stated element types (checked by their
   buffer format) and keeps a coder's state in a small uint64 array between calls. Every index read from a buffer
   and every table is checked here; a violation raises ValueError or TypeError and leaves the output unspecified. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#define KERNELS_VERSION 14
#define PRECISION 24
#define TOTAL (UINT64_C(1) << PRECISION)
#define WORD_BITS 32
#define SLICE_BITS 8 /* the decoder's slice-start tables: 2^8 slices of each row's 2^24 range (measured: 2^7 and 2^10 decode slower) */
#define SLICES (1 << SLICE_BITS)

/* encoder state slots */
enum { E_LOWER, E_RANGE, E_INVERTED, E_FIRST_INVERTED, E_POS, E_SLOTS };
/* decoder state slots */
enum { D_LOWER, D_RANGE, D_POINT, D_POS, D_SLOTS };

typedef struct {
    Py_buffer view;
    int held;
} buffer_t;

/* Element kinds the kernels take: 'i' int64, 'u' uint64, 'w' uint32 (words), 'd' float64, 'y' uint8. */
static int kind_of(const char *format) {
    if (format == NULL) return 'B';
    while (*format == '<' || *format == '=' || *format == '@') format++;
    if (format[0] == 0 || format[1] != 0) return '?';
    switch (format[0]) {
    case 'l': return sizeof(long) == 8 ? 'i' : '?';
    case 'q': return 'i';
    case 'L': return sizeof(long) == 8 ? 'u' : 'w';
    case 'Q': return 'u';
    case 'I': return 'w';
    case 'd': return 'd';
    case 'B': return 'y';
    default: return '?';
    }
}

static int get_buffer(PyObject *obj, buffer_t *b, int writable, int kind, const char *what) {
    b->held = 0;
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, &b->view, flags) < 0) return -1;
    b->held = 1;
    if (kind_of(b->view.format) != kind) {
        PyErr_Format(PyExc_TypeError, "%s: wrong element type (format %s)", what,
                     b->view.format ? b->view.format : "B");
        return -1;
    }
    return 0;
}

static void release(buffer_t *b) {
    if (b->held) PyBuffer_Release(&b->view);
    b->held = 0;
}

#define COUNT(b, type) ((Py_ssize_t)((b).view.len / (Py_ssize_t)sizeof(type)))

/* One symbol with left cumulative `left` and probability `prob` (both at PRECISION bits, prob > 0). */
static inline void encode_one(uint64_t *st, uint32_t *out, uint64_t left, uint64_t prob) {
    uint64_t lower = st[E_LOWER];
    uint64_t scale = st[E_RANGE] >> PRECISION;
    uint64_t range = scale * prob;
    uint64_t new_lower = lower + scale * left; /* wrapping */
    if (st[E_INVERTED] && new_lower + range > new_lower) {
        /* back to normal: the held-back words are known now */
        uint32_t first = (uint32_t)st[E_FIRST_INVERTED], rest = UINT32_MAX;
        if (new_lower < lower) {
            first += 1;
            rest = 0;
        }
        uint64_t pos = st[E_POS];
        out[pos++] = first;
        for (uint64_t i = 1; i < st[E_INVERTED]; i++) out[pos++] = rest;
        st[E_POS] = pos;
        st[E_INVERTED] = 0;
    }
    lower = new_lower;
    if (range < (UINT64_C(1) << (64 - WORD_BITS))) {
        range <<= WORD_BITS;
        uint32_t lower_word = (uint32_t)(lower >> (64 - WORD_BITS));
        lower <<= WORD_BITS;
        if (st[E_INVERTED]) {
            st[E_INVERTED] += 1;
        } else if (lower + range > lower) {
            out[st[E_POS]++] = lower_word;
        } else {
            st[E_INVERTED] = 1;
            st[E_FIRST_INVERTED] = lower_word;
        }
    }
    st[E_LOWER] = lower;
    st[E_RANGE] = range;
}

/* A value in [0, 2^16) at probability 2^-16: constriction's Uniform model over 2^16 values. */
static inline void encode_u16(uint64_t *st, uint32_t *out, uint64_t value) {
    encode_one(st, out, value << (PRECISION - 16), UINT64_C(1) << (PRECISION - 16));
}

/* Every symbol costs at most one word now; held-back words are counted when they are released. */
static int check_room(const uint64_t *st, Py_ssize_t capacity, Py_ssize_t count) {
    if ((uint64_t)capacity < st[E_POS] + st[E_INVERTED] + (uint64_t)count + 2) {
        PyErr_SetString(PyExc_ValueError, "range coder: output buffer too small");
        return -1;
    }
    return 0;
}

/* encode_categorical(state u64[5], out u32[], symbols i64[n], rows i64[n], cdf u32[R*(K+1)], K) */
static PyObject *encode_categorical(PyObject *self, PyObject *args) {
    PyObject *o_st, *o_out, *o_sym, *o_rows, *o_cdf;
    Py_ssize_t k;
    buffer_t st = {0}, out = {0}, sym = {0}, rows = {0}, cdf = {0};
    PyObject *result = NULL;
    if (!PyArg_ParseTuple(args, "OOOOOn", &o_st, &o_out, &o_sym, &o_rows, &o_cdf, &k)) return NULL;
    if (get_buffer(o_st, &st, 1, 'u', "state") < 0 || get_buffer(o_out, &out, 1, 'w', "out") < 0 ||
        get_buffer(o_sym, &sym, 0, 'i', "symbols") < 0 || get_buffer(o_rows, &rows, 0, 'i', "rows") < 0 ||
        get_buffer(o_cdf, &cdf, 0, 'w', "cdf") < 0)
        goto done;
    Py_ssize_t n = COUNT(sym, int64_t), stride = k + 1;
    if (COUNT(st, uint64_t) != E_SLOTS || COUNT(rows, int64_t) != n || k < 2 || COUNT(cdf, uint32_t) % stride) {
        PyErr_SetString(PyExc_ValueError, "encode_categorical: inconsistent shapes");
        goto done;
    }
    uint64_t *s = (uint64_t *)st.view.buf;
    if (check_room(s, COUNT(out, uint32_t), n) < 0) goto done;
    const int64_t *symbols = (const int64_t *)sym.view.buf, *row = (const int64_t *)rows.view.buf;
    const uint32_t *table = (const uint32_t *)cdf.view.buf;
    int64_t nrows = COUNT(cdf, uint32_t) / stride;
    uint32_t *words = (uint32_t *)out.view.buf;
    for (Py_ssize_t i = 0; i < n; i++) {
        int64_t x = symbols[i], r = row[i];
        if (x < 0 || x >= k || r < 0 || r >= nrows) {
            PyErr_Format(PyExc_ValueError, "encode_categorical: symbol %lld or row %lld out of range",
                         (long long)x, (long long)r);
            goto done;
        }
        const uint32_t *c = table + r * stride + x;
        if (c[1] <= c[0]) {
            PyErr_SetString(PyExc_ValueError, "encode_categorical: table row is not increasing");
            goto done;
        }
        encode_one(s, words, c[0], (uint64_t)c[1] - c[0]);
    }
    result = Py_NewRef(Py_None);
done:
    release(&st), release(&out), release(&sym), release(&rows), release(&cdf);
    return result;
}

/* encode_uniform16(state, out, values i64[n]): each value in [0, 2^16) at probability 2^-16 */
static PyObject *encode_uniform16(PyObject *self, PyObject *args) {
    PyObject *o_st, *o_out, *o_val;
    buffer_t st = {0}, out = {0}, val = {0};
    PyObject *result = NULL;
    if (!PyArg_ParseTuple(args, "OOO", &o_st, &o_out, &o_val)) return NULL;
    if (get_buffer(o_st, &st, 1, 'u', "state") < 0 || get_buffer(o_out, &out, 1, 'w', "out") < 0 ||
        get_buffer(o_val, &val, 0, 'i', "values") < 0)
        goto done;
    Py_ssize_t n = COUNT(val, int64_t);
    uint64_t *s = (uint64_t *)st.view.buf;
    if (COUNT(st, uint64_t) != E_SLOTS) {
        PyErr_SetString(PyExc_ValueError, "encode_uniform16: bad state");
        goto done;
    }
    if (check_room(s, COUNT(out, uint32_t), n) < 0) goto done;
    const int64_t *v = (const int64_t *)val.view.buf;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (v[i] < 0 || v[i] > 0xFFFF) {
            PyErr_SetString(PyExc_ValueError, "encode_uniform16: value out of range");
            goto done;
        }
        encode_u16(s, (uint32_t *)out.view.buf, (uint64_t)v[i]);
    }
    result = Py_NewRef(Py_None);
done:
    release(&st), release(&out), release(&val);
    return result;
}

/* seal(state, out) -> number of words in out once sealed (state unchanged: more symbols may follow). */
static PyObject *seal(PyObject *self, PyObject *args) {
    PyObject *o_st, *o_out;
    buffer_t st = {0}, out = {0};
    PyObject *result = NULL;
    if (!PyArg_ParseTuple(args, "OO", &o_st, &o_out)) return NULL;
    if (get_buffer(o_st, &st, 1, 'u', "state") < 0 || get_buffer(o_out, &out, 1, 'w', "out") < 0) goto done;
    if (COUNT(st, uint64_t) != E_SLOTS) {
        PyErr_SetString(PyExc_ValueError, "seal: bad state");
        goto done;
    }
    uint64_t *s = (uint64_t *)st.view.buf;
    uint32_t *words = (uint32_t *)out.view.buf;
    uint64_t pos = s[E_POS];
    if (s[E_RANGE] == UINT64_MAX) { /* nothing encoded: no words */
        result = PyLong_FromUnsignedLongLong(pos);
        goto done;
    }
    if (check_room(s, COUNT(out, uint32_t), 0) < 0) goto done;
    uint64_t lower = s[E_LOWER];
    uint64_t point = lower + ((UINT64_C(1) << (64 - WORD_BITS)) - 1);
    if (s[E_INVERTED]) {
        uint32_t first = (uint32_t)s[E_FIRST_INVERTED], rest = UINT32_MAX;
        if (point < lower) {
            first += 1;
            rest = 0;
        }
        words[pos++] = first;
        for (uint64_t i = 1; i < s[E_INVERTED]; i++) words[pos++] = rest;
    }
    uint32_t point_word = (uint32_t)(point >> (64 - WORD_BITS));
    words[pos++] = point_word;
    if ((uint32_t)((lower + s[E_RANGE]) >> (64 - WORD_BITS)) == point_word) words[pos++] = 0;
    result = PyLong_FromUnsignedLongLong(pos);
done:
    release(&st), release(&out);
    return result;
}

/* The decoder's renormalization after a symbol: one more word (zeros past the end). */
static inline void decode_update(uint64_t *st, const uint32_t *words, uint64_t nwords, uint64_t scale, uint64_t left,
                                 uint64_t prob) {
    uint64_t lower = st[D_LOWER] + scale * left;
    uint64_t range = scale * prob;
    if (range < (UINT64_C(1) << (64 - WORD_BITS))) {
        lower <<= WORD_BITS;
        range <<= WORD_BITS;
        uint64_t point = st[D_POINT] << WORD_BITS;
        if (st[D_POS] < nwords) point |= words[st[D_POS]++];
        st[D_POINT] = point;
    }
    st[D_LOWER] = lower;
    st[D_RANGE] = range;
}

static int decoder_args(PyObject *args, buffer_t *st, buffer_t *wd, PyObject **rest, const char *what) {
    PyObject *o_st, *o_words;
    if (!PyArg_ParseTuple(args, "OOO", &o_st, &o_words, rest)) return -1;
    if (get_buffer(o_st, st, 1, 'u', "state") < 0 || get_buffer(o_words, wd, 0, 'w', "words") < 0) return -1;
    if (COUNT(*st, uint64_t) != D_SLOTS) {
        PyErr_Format(PyExc_ValueError, "%s: bad state", what);
        return -1;
    }
    return 0;
}

/* Every row of a cumulative table starts at 0, ends at 2^24 and increases strictly (a zero-width symbol would
   leave the coder a zero range). */
static int check_cdf(const buffer_t *cdf, Py_ssize_t k, const char *what) {
    const uint32_t *t = (const uint32_t *)cdf->view.buf;
    Py_ssize_t rows = COUNT(*cdf, uint32_t) / (k + 1);
    for (Py_ssize_t r = 0; r < rows; r++) {
        const uint32_t *c = t + r * (k + 1);
        int bad = c[0] != 0 || c[k] != TOTAL;
        for (Py_ssize_t x = 0; x < k; x++) bad |= c[x + 1] <= c[x];
        if (bad) {
            PyErr_Format(PyExc_ValueError, "%s: a table row is not a valid cumulative distribution", what);
            return -1;
        }
    }
    return 0;
}

/* The optional table of slice starts: start[r][h] is the last symbol x of row r with c[x] <= h·2^(24 − SLICE_BITS)
   (so the forward scan in decode_one stays inside the row); NULL when empty. */
static const uint8_t *check_starts(const buffer_t *starts, const buffer_t *cdf, Py_ssize_t k, const char *what) {
    if (COUNT(*starts, uint8_t) == 0) return NULL;
    Py_ssize_t rows = COUNT(*cdf, uint32_t) / (k + 1);
    const uint8_t *t = (const uint8_t *)starts->view.buf;
    const uint32_t *c = (const uint32_t *)cdf->view.buf;
    if (COUNT(*starts, uint8_t) != rows * SLICES) goto bad;
    for (Py_ssize_t r = 0; r < rows; r++)
        for (Py_ssize_t h = 0; h < SLICES; h++) {
            Py_ssize_t x = t[r * SLICES + h];
            if (x >= k || c[r * (k + 1) + x] > ((uint32_t)h << (PRECISION - SLICE_BITS))) goto bad;
        }
    return t;
bad:
    PyErr_Format(PyExc_ValueError, "%s: the slice-start table does not match the cumulative table", what);
    return (const uint8_t *)-1;
}

/* What every call checks (the full checks run once per table, check_tables): each row starts at 0 and ends at 2^24,
   and each slice start names a symbol of the row, so the forward scan in decode_one stops inside its row whatever
   the rest of the table holds. */
static const uint8_t *check_ends(const buffer_t *cdf, const buffer_t *starts, Py_ssize_t k, const char *what) {
    const uint32_t *t = (const uint32_t *)cdf->view.buf;
    Py_ssize_t rows = COUNT(*cdf, uint32_t) / (k + 1);
    int bad = 0;
    for (Py_ssize_t r = 0; r < rows; r++) bad |= t[r * (k + 1)] != 0 || t[r * (k + 1) + k] != TOTAL;
    const uint8_t *start = NULL;
    if (starts != NULL && COUNT(*starts, uint8_t) != 0) {
        start = (const uint8_t *)starts->view.buf;
        bad |= COUNT(*starts, uint8_t) != rows * SLICES;
        uint8_t top = 0;
        for (Py_ssize_t x = 0; !bad && x < rows * SLICES; x++) top = start[x] > top ? start[x] : top;
        bad |= top >= k;
    }
    if (bad) {
        PyErr_Format(PyExc_ValueError, "%s: a table row is not a valid cumulative distribution", what);
        return (const uint8_t *)-1;
    }
    return start;
}

/* check_tables(cdf u32[R*(K+1)], K, starts u8[R*SLICES] or empty): the full checks of a table, once */
static PyObject *check_tables(PyObject *self, PyObject *args) {
    PyObject *o_cdf, *o_starts, *result = NULL;
    Py_ssize_t k;
    buffer_t cdf = {0}, starts = {0};
    if (!PyArg_ParseTuple(args, "OnO", &o_cdf, &k, &o_starts)) return NULL;
    if (get_buffer(o_cdf, &cdf, 0, 'w', "cdf") < 0 || get_buffer(o_starts, &starts, 0, 'y', "starts") < 0) goto done;
    if (k < 2 || COUNT(cdf, uint32_t) % (k + 1)) {
        PyErr_SetString(PyExc_ValueError, "check_tables: inconsistent shapes");
        goto done;
    }
    if (check_cdf(&cdf, k, "check_tables") < 0 || check_starts(&starts, &cdf, k, "check_tables") == (const uint8_t *)-1)
        goto done;
    result = Py_NewRef(Py_None);
done:
    release(&cdf), release(&starts);
    return result;
}

/* One symbol against the cumulative row c (K + 1 entries); -1 for constriction's "invalid data". */
static inline int64_t decode_one(uint64_t *st, const uint32_t *words, uint64_t nwords, const uint32_t *c, Py_ssize_t k,
                                 const uint8_t *start) {
    uint64_t scale = st[D_RANGE] >> PRECISION; /* below 2^40 */
    uint64_t diff = st[D_POINT] - st[D_LOWER];
    /* quantile = diff / scale: a double estimate (off by at most one), corrected in integers; near and above 2^24
       (only for words no encoder wrote) the hardware division, where the products could overflow */
    double estimate = (double)diff / (double)scale;
    uint64_t quantile;
    if (estimate < (double)(TOTAL - 2)) {
        quantile = (uint64_t)estimate;
        uint64_t product = quantile * scale;
        if (product > diff) quantile -= 1, product -= scale;
        if (diff - product >= scale) quantile += 1;
    } else {
        quantile = diff / scale;
    }
    if (quantile >= TOTAL) return -1; /* constriction's "invalid data" */
    /* the symbol x with c[x] <= quantile < c[x + 1] */
    Py_ssize_t lo;
    if (start != NULL) { /* the last symbol starting at or below the quantile's slice, then forward */
        lo = start[quantile >> (PRECISION - SLICE_BITS)];
        while (c[lo + 1] <= quantile) lo++;
    } else { /* a binary search whose steps are selects, not branches */
        const uint32_t *base = c;
        Py_ssize_t n = k;
        while (n > 1) {
            Py_ssize_t half = n >> 1;
            base = base[half] <= quantile ? base + half : base;
            n -= half;
        }
        lo = base - c;
    }
    decode_update(st, words, nwords, scale, c[lo], (uint64_t)c[lo + 1] - c[lo]);
    return lo;
}

/* decode_categorical(state u64[4], words u32[], (symbols_out i64[n], rows i64[n], cdf u32[R*(K+1)], K)) */
static PyObject *decode_categorical(PyObject *self, PyObject *args) {
    buffer_t st = {0}, wd = {0}, sym = {0}, rows = {0}, cdf = {0};
    PyObject *rest, *o_sym, *o_rows, *o_cdf, *result = NULL;
    Py_ssize_t k;
    if (decoder_args(args, &st, &wd, &rest, "decode_categorical") < 0) goto done;
    if (!PyArg_ParseTuple(rest, "OOOn", &o_sym, &o_rows, &o_cdf, &k)) goto done;
    if (get_buffer(o_sym, &sym, 1, 'i', "symbols") < 0 || get_buffer(o_rows, &rows, 0, 'i', "rows") < 0 ||
        get_buffer(o_cdf, &cdf, 0, 'w', "cdf") < 0)
        goto done;
    Py_ssize_t n = COUNT(sym, int64_t), stride = k + 1;
    if (COUNT(rows, int64_t) != n || k < 2 || COUNT(cdf, uint32_t) % stride) {
        PyErr_SetString(PyExc_ValueError, "decode_categorical: inconsistent shapes");
        goto done;
    }
    if (check_cdf(&cdf, k, "decode_categorical") < 0) goto done;
    uint64_t *s = (uint64_t *)st.view.buf;
    const uint32_t *words = (const uint32_t *)wd.view.buf, *table = (const uint32_t *)cdf.view.buf;
    uint64_t nwords = (uint64_t)COUNT(wd, uint32_t);
    const int64_t *row = (const int64_t *)rows.view.buf;
    int64_t *symbols = (int64_t *)sym.view.buf, nrows = COUNT(cdf, uint32_t) / stride;
    for (Py_ssize_t i = 0; i < n; i++) {
        int64_t r = row[i];
        if (r < 0 || r >= nrows) {
            PyErr_SetString(PyExc_ValueError, "decode_categorical: row out of range");
            goto done;
        }
        symbols[i] = decode_one(s, words, nwords, table + r * stride, k, NULL);
        if (symbols[i] < 0) {
            PyErr_SetString(PyExc_ValueError, "decode_categorical: invalid compressed data");
            goto done;
        }
    }
    result = Py_NewRef(Py_None);
done:
    release(&st), release(&wd), release(&sym), release(&rows), release(&cdf);
    return result;
}

/* decode_uniform16(state, words, values_out i64[n]) */
static PyObject *decode_uniform16(PyObject *self, PyObject *args) {
    buffer_t st = {0}, wd = {0}, val = {0};
    PyObject *o_val, *result = NULL;
    if (decoder_args(args, &st, &wd, &o_val, "decode_uniform16") < 0) goto done;
    if (get_buffer(o_val, &val, 1, 'i', "values") < 0) goto done;
    uint64_t *s = (uint64_t *)st.view.buf;
    const uint32_t *words = (const uint32_t *)wd.view.buf;
    uint64_t nwords = (uint64_t)COUNT(wd, uint32_t);
    int64_t *v = (int64_t *)val.view.buf;
    const uint64_t bin = UINT64_C(1) << (PRECISION - 16);
    for (Py_ssize_t i = 0, n = COUNT(val, int64_t); i < n; i++) {
        uint64_t scale = s[D_RANGE] >> PRECISION;
        uint64_t quantile = (s[D_POINT] - s[D_LOWER]) / scale;
        if (quantile >= TOTAL) {
            PyErr_SetString(PyExc_ValueError, "decode_uniform16: invalid compressed data");
            goto done;
        }
        uint64_t x = quantile / bin;
        v[i] = (int64_t)x;
        decode_update(s, words, nwords, scale, x * bin, bin);
    }
    result = Py_NewRef(Py_None);
done:
    release(&st), release(&wd), release(&val);
    return result;
}

/* ---- closest points: the same IEEE operations in the same order as ltccodec/lattice/_ops.py ---- */

/* np.rint (round half to even) without a libm call: adding and subtracting 2^52 rounds in the current (default,
   to-nearest-even) mode; magnitudes from 2^52 up are integers already. The sign is kept, so -0.3 gives -0.0. */
static inline double round_even(double x) {
    double a = fabs(x);
    if (!(a < 4503599627370496.0)) return x; /* also NaN */
    const double big = 4503599627370496.0; /* (a + big) - big is not folded: no -ffast-math here */
    return copysign((a + big) - big, x);
}

/* fmod(sum - parity, 2) != 0 for an integer-valued sum: exact integer arithmetic while that is exact */
static inline int wrong_parity(double sum, double parity) {
    if (fabs(sum) < 4503599627370496.0) return (int)(((long long)sum - (long long)parity) & 1);
    return fmod(sum - parity, 2.0) != 0.0;
}

/* c ? a : b on doubles through their bits, without a branch (and keeping the sign of a zero) */
static inline double pick(int c, double a, double b) {
    uint64_t ua, ub, mask = (uint64_t)0 - (uint64_t)(c != 0);
    memcpy(&ua, &a, 8);
    memcpy(&ub, &b, 8);
    ub = (ua & mask) | (ub & ~mask);
    memcpy(&b, &ub, 8);
    return b;
}

/* Conway & Sloane's D_n rule on one row: round; if the sum has the wrong parity, move the coordinate with the
   largest rounding error (first such) one step toward its input. Written without data-dependent branches but
   the last (a coordinate left alone keeps its -0.0). */
static inline void round_parity_row(const double *z, double *f, Py_ssize_t n, double parity) {
    double sum = 0.0, largest = -1.0;
    Py_ssize_t worst = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        f[i] = round_even(z[i]);
        sum += f[i];
        double r = fabs(z[i] - f[i]);
        int better = r > largest;
        largest = pick(better, r, largest);
        worst += (i - worst) & -(Py_ssize_t)better;
    }
    /* the move, selected by bit masks rather than a branch (the parity is a coin flip for the predictor) */
    double moved = f[worst] + ((z[worst] - f[worst] >= 0.0) ? 1.0 : -1.0);
    f[worst] = pick(wrong_parity(sum, parity), moved, f[worst]);
}

/* round_parity(z f64[B*n], out f64[B*n], n, parities f64[B] or f64[1]) */
static PyObject *round_parity(PyObject *self, PyObject *args) {
    PyObject *o_z, *o_out, *o_par;
    Py_ssize_t n;
    buffer_t z = {0}, out = {0}, par = {0};
    PyObject *result = NULL;
    if (!PyArg_ParseTuple(args, "OOnO", &o_z, &o_out, &n, &o_par)) return NULL;
    if (get_buffer(o_z, &z, 0, 'd', "z") < 0 || get_buffer(o_out, &out, 1, 'd', "out") < 0 ||
        get_buffer(o_par, &par, 0, 'd', "parity") < 0)
        goto done;
    Py_ssize_t count = COUNT(z, double);
    if (n < 1 || count % n || COUNT(out, double) != count ||
        (COUNT(par, double) != 1 && COUNT(par, double) != count / n)) {
        PyErr_SetString(PyExc_ValueError, "round_parity: inconsistent shapes");
        goto done;
    }
    const double *in = (const double *)z.view.buf, *parity = (const double *)par.view.buf;
    double *f = (double *)out.view.buf;
    int each = COUNT(par, double) != 1 || count == n;
    for (Py_ssize_t row = 0; row < count / n; row++)
        round_parity_row(in + row * n, f + row * n, n, parity[each ? row : 0]);
    result = Py_NewRef(Py_None);
done:
    release(&z), release(&out), release(&par);
    return result;
}

/* One coset's D8 rule for E8, written for the vectorizer: the roundings and errors of the 8 coordinates as
   independent lanes, then the first largest error, then the parity move (the same operations as round_parity_row). */
static inline void e8_coset(const double *z, double *f) {
    double r[8], sum = 0.0;
    for (int i = 0; i < 8; i++) {
        f[i] = round_even(z[i]);
        r[i] = fabs(z[i] - f[i]);
    }
    for (int i = 0; i < 8; i++) sum += f[i];
    int worst = 0;
    double largest = -1.0; /* as round_parity_row: the first largest, NaN errors never chosen */
    for (int i = 0; i < 8; i++) {
        int better = r[i] > largest;
        largest = better ? r[i] : largest;
        worst = better ? i : worst;
    }
    double moved = f[worst] + ((z[worst] - f[worst] >= 0.0) ? 1.0 : -1.0);
    f[worst] = pick(wrong_parity(sum, 0.0), moved, f[worst]);
}

/* E8 at twice its size, 2D8 ∪ (2D8 + 1): the closer of the two cosets' points, the even coset on ties. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__)
__attribute__((target_clones("avx2", "default")))
#endif
static void e8_rows(const double *in, double *p, Py_ssize_t rows) {
    for (Py_ssize_t row = 0; row < rows; row++) {
        const double *x = in + 8 * row;
        double half[8], half_odd[8], even[8], odd[8];
        for (int i = 0; i < 8; i++) {
            half[i] = x[i] * 0.5;
            half_odd[i] = (x[i] - 1.0) * 0.5;
        }
        e8_coset(half, even);
        e8_coset(half_odd, odd);
        double de = 0.0, dodd = 0.0;
        for (int i = 0; i < 8; i++) {
            even[i] = 2.0 * even[i];
            odd[i] = 2.0 * odd[i] + 1.0;
        }
        for (int i = 0; i < 8; i++) {
            double a = x[i] - even[i], b = x[i] - odd[i];
            de += a * a;
            dodd += b * b;
        }
        int use_odd = dodd < de;
        for (int i = 0; i < 8; i++) p[8 * row + i] = pick(use_odd, odd[i], even[i]);
    }
}

static inline double mod2(double x) { /* np.mod(x, 2.0) for the integer-valued x it is given here */
    if (fabs(x) < 4503599627370496.0) return (double)((long long)x & 1);
    double m = fmod(x, 2.0);
    if (m != 0.0 && m < 0.0) m += 2.0;
    return m == 0.0 ? 0.0 : m;
}

/* ---- the Leech lattice (ltccodec/lattice/leech.py, whose comments explain the decoder): the same sums in the same
   order, the same first-index argmins, so the same point bit for bit ---- */


static void leech_row(const double *z, double *out, const int64_t *hexacode, const int64_t *pattern_of) {
    double q[2][2][24], cost[2][2][24], par[2][2][24], alt[2][2][24], sw[2][2][24];
    for (int h = 0; h < 2; h++)
        for (int v = 0; v < 2; v++) {
            double off = (double)(h + 2 * v);
            for (int i = 0; i < 24; i++) {
                double qq = 4.0 * round_even((z[i] - off) * 0.25) + off;
                double d = z[i] - qq;
                q[h][v][i] = qq;
                cost[h][v][i] = d * d;
                par[h][v][i] = mod2((qq - off) * 0.25);
                double a = qq + 4.0 * (d >= 0.0 ? 1.0 : -1.0), e = z[i] - a;
                alt[h][v][i] = a;
                sw[h][v][i] = e * e - cost[h][v][i];
            }
        }
    /* per half, column and pattern: the cost for each y parity P of the column */
    double col_cost[2][6][16][2];
    for (int h = 0; h < 2; h++)
        for (int col = 0; col < 6; col++)
            for (int b = 0; b < 16; b++) {
                double base = 0.0, parity = 0.0, cheapest = 0.0;
                for (int r = 0; r < 4; r++) {
                    int v = (b >> r) & 1, i = 4 * col + r;
                    base = r ? base + cost[h][v][i] : cost[h][v][i];
                    parity = r ? parity + par[h][v][i] : par[h][v][i];
                    cheapest = (r == 0 || sw[h][v][i] < cheapest) ? sw[h][v][i] : cheapest;
                }
                double p = mod2(parity);
                for (int P = 0; P < 2; P++) col_cost[h][col][b][P] = base + (p == (double)P ? 0.0 : cheapest);
            }
    /* dynamic program over the columns for every half, hexacode word and top-row parity */
    double best = 0.0;
    int best_index = -1;
    for (int h = 0; h < 2; h++)
        for (int word = 0; word < 64; word++)
            for (int pi = 0; pi < 2; pi++) {
                double state[2][2];
                const int64_t *w = hexacode + 6 * word;
                for (int t = 0; t < 2; t++)
                    for (int P = 0; P < 2; P++) state[t][P] = col_cost[h][0][pattern_of[w[0] * 4 + pi * 2 + t]][P];
                for (int k = 1; k < 6; k++) {
                    double step[2][2], next[2][2];
                    for (int t = 0; t < 2; t++)
                        for (int P = 0; P < 2; P++) step[t][P] = col_cost[h][k][pattern_of[w[k] * 4 + pi * 2 + t]][P];
                    for (int t = 0; t < 2; t++)
                        for (int P = 0; P < 2; P++) {
                            double m = state[t][P] + step[0][0], c;
                            c = state[t ^ 1][P] + step[1][0];
                            m = c < m ? c : m;
                            c = state[t][P ^ 1] + step[0][1];
                            m = c < m ? c : m;
                            c = state[t ^ 1][P ^ 1] + step[1][1];
                            next[t][P] = c < m ? c : m;
                        }
                    memcpy(state, next, sizeof state);
                }
                double total = state[pi][h];
                int index = h * 128 + word * 2 + pi;
                if (best_index < 0 || total < best) best = total, best_index = index;
            }
    int h = best_index / 128, word = (best_index / 2) % 64, pi = best_index % 2;
    const int64_t *w = hexacode + 6 * word;
    /* trace the winner back to one option o = 2t + P per column */
    double chosen[6][4], forward[4];
    int choice[5][4];
    for (int k = 0; k < 6; k++)
        for (int o = 0; o < 4; o++) chosen[k][o] = col_cost[h][k][pattern_of[w[k] * 4 + pi * 2 + (o >> 1)]][o & 1];
    for (int o = 0; o < 4; o++) forward[o] = chosen[0][o];
    for (int k = 1; k < 6; k++) {
        double nf[4];
        for (int st = 0; st < 4; st++) {
            double m = forward[st] + chosen[k][0];
            int arg = 0;
            for (int o = 1; o < 4; o++) {
                double c = forward[st ^ o] + chosen[k][o];
                if (c < m) m = c, arg = o;
            }
            choice[k - 1][st] = arg;
            nf[st] = m;
        }
        memcpy(forward, nf, sizeof forward);
    }
    int options[6], st = 2 * pi + h;
    for (int k = 5; k > 0; k--) {
        options[k] = choice[k - 1][st];
        st ^= options[k];
    }
    options[0] = st;
    /* the codeword's bits; y read off with one switch per column whose y parity is off */
    for (int col = 0; col < 6; col++) {
        int pattern = (int)pattern_of[w[col] * 4 + pi * 2 + (options[col] >> 1)];
        double parity = 0.0, least = 0.0;
        int worst = 0;
        for (int r = 0; r < 4; r++) {
            int v = (pattern >> r) & 1, i = 4 * col + r;
            out[i] = q[h][v][i];
            parity = r ? parity + par[h][v][i] : par[h][v][i];
            if (r == 0 || sw[h][v][i] < least) least = sw[h][v][i], worst = r;
        }
        if (mod2(parity) != (double)(options[col] & 1)) {
            int i = 4 * col + worst;
            out[i] = alt[h][(pattern >> worst) & 1][i];
        }
    }
}


/* ---- Barnes–Wall Λ16 = RM(1,4) + 2·D16 (ltccodec/lattice/barnes_wall.py), bit for bit ---- */
static void bw16_row(const double *z, double *out, const int64_t *code) {
    double q[2][16], cost[2][16], par[2][16], alt[2][16], sw[2][16];
    for (int v = 0; v < 2; v++) {
        double off = (double)v;
        for (int i = 0; i < 16; i++) {
            double qq = 2.0 * round_even((z[i] - off) * 0.5) + off, d = z[i] - qq;
            q[v][i] = qq;
            cost[v][i] = d * d;
            par[v][i] = mod2((qq - off) * 0.5);
            double a = qq + 2.0 * (d >= 0.0 ? 1.0 : -1.0), e = z[i] - a;
            alt[v][i] = a;
            sw[v][i] = e * e - cost[v][i];
        }
    }
    double best = 0.0;
    int best_word = -1, best_wrong = 0;
    for (int word = 0; word < 32; word++) {
        const int64_t *c = code + 16 * word;
        double total = cost[c[0]][0], parity = par[c[0]][0], least = sw[c[0]][0];
        for (int i = 1; i < 16; i++) {
            total += cost[c[i]][i];
            parity += par[c[i]][i];
            least = sw[c[i]][i] < least ? sw[c[i]][i] : least;
        }
        int wrong = mod2(parity) != 0.0;
        total = total + (wrong ? least : 0.0);
        if (best_word < 0 || total < best) best = total, best_word = word, best_wrong = wrong;
    }
    const int64_t *c = code + 16 * best_word;
    int worst = 0;
    for (int i = 0; i < 16; i++) {
        out[i] = q[c[i]][i];
        if (sw[c[i]][i] < sw[c[worst]][worst]) worst = i;
    }
    if (best_wrong) out[worst] = alt[c[worst]][worst];
}

/* nearest_bw16(z f64[B*16], out f64[B*16], code i64[32*16] of 0/1) */
static PyObject *nearest_bw16(PyObject *self, PyObject *args) {
    PyObject *o_z, *o_out, *o_code, *result = NULL;
    buffer_t z = {0}, out = {0}, code = {0};
    if (!PyArg_ParseTuple(args, "OOO", &o_z, &o_out, &o_code)) return NULL;
    if (get_buffer(o_z, &z, 0, 'd', "z") < 0 || get_buffer(o_out, &out, 1, 'd', "out") < 0 ||
        get_buffer(o_code, &code, 0, 'i', "code") < 0)
        goto done;
    Py_ssize_t count = COUNT(z, double);
    const int64_t *cw = (const int64_t *)code.view.buf;
    int bad = count % 16 || COUNT(out, double) != count || COUNT(code, int64_t) != 32 * 16;
    for (Py_ssize_t i = 0; !bad && i < 32 * 16; i++) bad |= cw[i] != 0 && cw[i] != 1;
    if (bad) {
        PyErr_SetString(PyExc_ValueError, "nearest_bw16: inconsistent shapes or code");
        goto done;
    }
    for (Py_ssize_t row = 0; row < count / 16; row++)
        bw16_row((const double *)z.view.buf + 16 * row, (double *)out.view.buf + 16 * row, cw);
    result = Py_NewRef(Py_None);
done:
    release(&z), release(&out), release(&code);
    return result;
}

/* nearest_leech(z f64[B*24], out f64[B*24], hexacode i64[64*6], pattern_of i64[4*2*2]) */
static PyObject *nearest_leech(PyObject *self, PyObject *args) {
    PyObject *o_z, *o_out, *o_hex, *o_pat, *result = NULL;
    buffer_t z = {0}, out = {0}, hex = {0}, pat = {0};
    if (!PyArg_ParseTuple(args, "OOOO", &o_z, &o_out, &o_hex, &o_pat)) return NULL;
    if (get_buffer(o_z, &z, 0, 'd', "z") < 0 || get_buffer(o_out, &out, 1, 'd', "out") < 0 ||
        get_buffer(o_hex, &hex, 0, 'i', "hexacode") < 0 || get_buffer(o_pat, &pat, 0, 'i', "pattern_of") < 0)
        goto done;
    Py_ssize_t count = COUNT(z, double);
    if (count % 24 || COUNT(out, double) != count || COUNT(hex, int64_t) != 64 * 6 || COUNT(pat, int64_t) != 16) {
        PyErr_SetString(PyExc_ValueError, "nearest_leech: inconsistent shapes");
        goto done;
    }
    const int64_t *hx = (const int64_t *)hex.view.buf, *pt = (const int64_t *)pat.view.buf;
    for (Py_ssize_t i = 0; i < 64 * 6; i++)
        if (hx[i] < 0 || hx[i] > 3) goto bad_tables;
    for (Py_ssize_t i = 0; i < 16; i++)
        if (pt[i] < 0 || pt[i] > 15) goto bad_tables;
    for (Py_ssize_t row = 0; row < count / 24; row++)
        leech_row((const double *)z.view.buf + 24 * row, (double *)out.view.buf + 24 * row, hx, pt);
    result = Py_NewRef(Py_None);
    goto done;
bad_tables:
    PyErr_SetString(PyExc_ValueError, "nearest_leech: hexacode or pattern table out of range");
done:
    release(&z), release(&out), release(&hex), release(&pat);
    return result;
}

/* nearest_e8(z f64[B*8], out f64[B*8]): E8 at twice its size, 2D8 ∪ (2D8 + 1); the closer of the two cosets'
   points, the even coset on ties. */
static PyObject *nearest_e8(PyObject *self, PyObject *args) {
    PyObject *o_z, *o_out;
    buffer_t z = {0}, out = {0};
    PyObject *result = NULL;
    if (!PyArg_ParseTuple(args, "OO", &o_z, &o_out)) return NULL;
    if (get_buffer(o_z, &z, 0, 'd', "z") < 0 || get_buffer(o_out, &out, 1, 'd', "out") < 0) goto done;
    Py_ssize_t count = COUNT(z, double);
    if (count % 8 || COUNT(out, double) != count) {
        PyErr_SetString(PyExc_ValueError, "nearest_e8: inconsistent shapes");
        goto done;
    }
    e8_rows((const double *)z.view.buf, (double *)out.view.buf, count / 8);
    result = Py_NewRef(Py_None);
done:
    release(&z), release(&out);
    return result;
}

/* ---- integer lattice arithmetic, wrapping in 64 bits as numpy's int64 does ---- */

/* int_matmul(k i64[B*n], basis i64[n*m], out i64[B*m], n, m): out = k @ basis */
static PyObject *int_matmul(PyObject *self, PyObject *args) {
    PyObject *o_k, *o_b, *o_out;
    Py_ssize_t n, m;
    buffer_t k = {0}, b = {0}, out = {0};
    PyObject *result = NULL;
    if (!PyArg_ParseTuple(args, "OOOnn", &o_k, &o_b, &o_out, &n, &m)) return NULL;
    if (get_buffer(o_k, &k, 0, 'i', "k") < 0 || get_buffer(o_b, &b, 0, 'i', "basis") < 0 ||
        get_buffer(o_out, &out, 1, 'i', "out") < 0)
        goto done;
    if (n < 1 || m < 1 || COUNT(k, int64_t) % n || COUNT(b, int64_t) != n * m ||
        COUNT(out, int64_t) != COUNT(k, int64_t) / n * m) {
        PyErr_SetString(PyExc_ValueError, "int_matmul: inconsistent shapes");
        goto done;
    }
    const uint64_t *kk = (const uint64_t *)k.view.buf, *bb = (const uint64_t *)b.view.buf;
    uint64_t *o = (uint64_t *)out.view.buf;
    /* lattice bases are sparse (E8: 21 of 64 entries): multiply by the nonzero entries only, listed once */
    Py_ssize_t nonzero = 0;
    for (Py_ssize_t t = 0; t < n * m; t++) nonzero += bb[t] != 0;
    Py_ssize_t *where = PyMem_Malloc(sizeof(Py_ssize_t) * 2 * (size_t)(nonzero + 1));
    uint64_t *value = PyMem_Malloc(sizeof(uint64_t) * (size_t)(nonzero + 1));
    if (where == NULL || value == NULL) {
        PyMem_Free(where), PyMem_Free(value);
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t t = 0, e = 0; t < n * m; t++)
        if (bb[t] != 0) where[2 * e] = t / m, where[2 * e + 1] = t % m, value[e++] = bb[t];
    for (Py_ssize_t row = 0, rows = COUNT(k, int64_t) / n; row < rows; row++) {
        const uint64_t *x = kk + row * n;
        uint64_t *y = o + row * m;
        for (Py_ssize_t c = 0; c < m; c++) y[c] = 0;
        for (Py_ssize_t e = 0; e < nonzero; e++) y[where[2 * e + 1]] += x[where[2 * e]] * value[e];
    }
    PyMem_Free(where), PyMem_Free(value);
    result = Py_NewRef(Py_None);
done:
    release(&k), release(&b), release(&out);
    return result;
}

/* floor(a / d) for 0 < d ≤ 2^50, given inv = 1.0 / d: a truncated double estimate (within one of the floor when
   |a| < 2^50), then integer corrections without branches, so the result is exact; hardware division for
   larger |a|. */
static inline int64_t floor_div(int64_t a, int64_t d, double inv) {
    if (a > -(INT64_C(1) << 50) && a < (INT64_C(1) << 50)) {
        int64_t q = (int64_t)((double)a * inv);
        int64_t r = a - q * d;
        q -= (r < 0);
        q += (r >= d);
        return q;
    }
    int64_t q = a / d;
    return (a % d != 0 && a < 0) ? q - 1 : q;
}

/* The box code's condition for one coordinate (coding.box.shift_and_bucket): given as the tuple
   (coords i64[N*L], L, first, column i64[m], dither i64[N*D], D, dcol, nesting, den, buckets), with
   num = nesting·(coords[:, first:first+m] @ column) + dither[:, dcol], the shift ⌊num/den⌋ (plus one when the
   nearest of `buckets` phase buckets wraps) and that bucket. */
typedef struct {
    buffer_t coords, column, dither;
    Py_ssize_t n, L, first, m, D, dcol;
    int64_t nesting, den, buckets;
    double inv, inv2;
    int log2_den; /* -1 unless den is a power of two (the usual case: SD's grid is 2^16, lattice diagonals 1, 2, 4, 8) */
} condition_t;

static void release_condition(condition_t *c) { release(&c->coords), release(&c->column), release(&c->dither); }

static int parse_condition(PyObject *tuple, condition_t *c, int writable) {
    PyObject *o_c, *o_col, *o_d;
    long long nesting, den, buckets;
    memset(c, 0, sizeof *c);
    if (!PyTuple_Check(tuple)) {
        PyErr_SetString(PyExc_TypeError, "condition: expected a tuple");
        return -1;
    }
    if (!PyArg_ParseTuple(tuple, "OnnOOnnLLL", &o_c, &c->L, &c->first, &o_col, &o_d, &c->D, &c->dcol, &nesting, &den,
                          &buckets))
        return -1;
    if (get_buffer(o_c, &c->coords, writable, 'i', "coords") < 0 || get_buffer(o_col, &c->column, 0, 'i', "column") < 0 ||
        get_buffer(o_d, &c->dither, 0, 'i', "dither") < 0)
        return -1;
    c->m = COUNT(c->column, int64_t);
    c->n = c->L > 0 ? COUNT(c->coords, int64_t) / c->L : 0;
    /* den and buckets below 2^24 keep 2·den·buckets below 2^49 */
    if (c->L < 1 || c->D < 1 || den < 1 || buckets < 1 || den > (1LL << 24) || buckets > (1LL << 24) || c->first < 0 ||
        c->first + c->m > c->L || c->dcol < 0 || c->dcol >= c->D || COUNT(c->coords, int64_t) != c->n * c->L ||
        COUNT(c->dither, int64_t) != c->n * c->D) {
        PyErr_SetString(PyExc_ValueError, "condition: inconsistent shapes");
        return -1;
    }
    c->nesting = nesting, c->den = den, c->buckets = buckets;
    c->inv = 1.0 / (double)den, c->inv2 = 1.0 / (double)(2 * den);
    c->log2_den = -1;
    if ((den & (den - 1)) == 0)
        for (int b = 0; b < 63; b++)
            if ((INT64_C(1) << b) == den) c->log2_den = b;
    return 0;
}

static inline void condition_at(const condition_t *c, Py_ssize_t i, int64_t *shift, int64_t *bucket) {
    const uint64_t *later = (const uint64_t *)c->coords.view.buf + i * c->L + c->first;
    const uint64_t *w = (const uint64_t *)c->column.view.buf;
    uint64_t acc = 0;
    for (Py_ssize_t t = 0; t < c->m; t++) acc += later[t] * w[t];
    int64_t num = (int64_t)((uint64_t)c->nesting * acc + (uint64_t)((const int64_t *)c->dither.view.buf)[i * c->D + c->dcol]);
    int64_t q, b;
    if (c->log2_den >= 0) { /* floor division by 2^s is an arithmetic shift (gcc and clang shift signed values so) */
        q = num >> c->log2_den;
        int64_t rem = num & (c->den - 1); /* num − q·2^s, without shifting a negative value */
        b = (2 * rem * c->buckets + c->den) >> (c->log2_den + 1);
    } else {
        q = floor_div(num, c->den, c->inv);
        int64_t rem = num - q * c->den; /* in [0, den) */
        b = floor_div(2 * rem * c->buckets + c->den, 2 * c->den, c->inv2);
    }
    int64_t wrap = b == c->buckets;
    *shift = q + wrap;
    *bucket = wrap ? 0 : b;
}

/* shift_bucket(condition, shift_out i64[N], bucket_out i64[N]) */
static PyObject *shift_bucket(PyObject *self, PyObject *args) {
    PyObject *o_cond, *o_s, *o_q, *result = NULL;
    condition_t c;
    buffer_t sh = {0}, bu = {0};
    if (!PyArg_ParseTuple(args, "OOO", &o_cond, &o_s, &o_q)) return NULL;
    if (parse_condition(o_cond, &c, 0) < 0 || get_buffer(o_s, &sh, 1, 'i', "shift") < 0 ||
        get_buffer(o_q, &bu, 1, 'i', "bucket") < 0)
        goto done;
    if (COUNT(sh, int64_t) != c.n || COUNT(bu, int64_t) != c.n) {
        PyErr_SetString(PyExc_ValueError, "shift_bucket: inconsistent shapes");
        goto done;
    }
    for (Py_ssize_t i = 0; i < c.n; i++) condition_at(&c, i, (int64_t *)sh.view.buf + i, (int64_t *)bu.view.buf + i);
    result = Py_NewRef(Py_None);
done:
    release_condition(&c), release(&sh), release(&bu);
    return result;
}

/* The box code of a block of coordinates in one call, in coding order: plan is a tuple of (condition, j, low, cdf,
   K) per coordinate (see coding.box.condition); for each, the N symbols k_j + shift − low (the escape K − 1 outside
   [0, K − 1)) against row `bucket` of cdf, then each escaped row's k_j + shift + 2^31 as two uniform 16-bit symbols
   (high half first). Returns 0, or −1 when an escaped value is outside (−2^31, 2^31) (the stream is then unusable).
   shift is scratch, i64[N]; escaped u8[N] likewise.
   encode_box(state u64[5], out u32[], plan, shift i64[N], escaped u8[N]) */
static PyObject *encode_box(PyObject *self, PyObject *args) {
    PyObject *o_st, *o_out, *plan, *o_sh, *o_es, *result = NULL;
    buffer_t st = {0}, out = {0}, sh = {0}, es = {0};
    if (!PyArg_ParseTuple(args, "OOO!OO", &o_st, &o_out, &PyTuple_Type, &plan, &o_sh, &o_es)) return NULL;
    if (get_buffer(o_st, &st, 1, 'u', "state") < 0 || get_buffer(o_out, &out, 1, 'w', "out") < 0 ||
        get_buffer(o_sh, &sh, 1, 'i', "shift") < 0 || get_buffer(o_es, &es, 1, 'y', "escaped") < 0)
        goto done;
    if (COUNT(st, uint64_t) != E_SLOTS) {
        PyErr_SetString(PyExc_ValueError, "encode_box: bad state");
        goto done;
    }
    uint64_t *s = (uint64_t *)st.view.buf;
    uint32_t *words = (uint32_t *)out.view.buf;
    int64_t *shift = (int64_t *)sh.view.buf;
    uint8_t *escaped = (uint8_t *)es.view.buf;
    int64_t status = 0;
    for (Py_ssize_t step = 0; step < PyTuple_GET_SIZE(plan) && status == 0; step++) {
        PyObject *o_cond, *o_cdf;
        Py_ssize_t j, k;
        long long low;
        condition_t c;
        buffer_t cdf = {0};
        int ok = 0;
        if (!PyArg_ParseTuple(PyTuple_GET_ITEM(plan, step), "OnLOn", &o_cond, &j, &low, &o_cdf, &k)) goto done;
        if (parse_condition(o_cond, &c, 0) < 0 || get_buffer(o_cdf, &cdf, 0, 'w', "cdf") < 0) goto step_done;
        if (k < 2 || j < 0 || j >= c.L || COUNT(sh, int64_t) != c.n || COUNT(es, uint8_t) != c.n ||
            COUNT(cdf, uint32_t) != c.buckets * (k + 1)) {
            PyErr_SetString(PyExc_ValueError, "encode_box: inconsistent shapes");
            goto step_done;
        }
        if (check_ends(&cdf, NULL, k, "encode_box") == (const uint8_t *)-1 ||
            check_room(s, COUNT(out, uint32_t), c.n) < 0)
            goto step_done;
        const int64_t *coords = (const int64_t *)c.coords.view.buf;
        const uint32_t *table = (const uint32_t *)cdf.view.buf;
        int64_t escapes = 0;
        for (Py_ssize_t i = 0; i < c.n; i++) {
            int64_t q, b;
            condition_at(&c, i, &q, &b);
            shift[i] = q;
            int64_t symbol = (int64_t)((uint64_t)coords[i * c.L + j] + (uint64_t)q - (uint64_t)low);
            int escape = symbol < 0 || symbol >= k - 1;
            escaped[i] = (uint8_t)escape;
            escapes += escape;
            symbol = escape ? k - 1 : symbol;
            const uint32_t *cum = table + b * (k + 1) + symbol;
            encode_one(s, words, cum[0], (uint64_t)cum[1] - cum[0]);
        }
        if (escapes) {
            if (check_room(s, COUNT(out, uint32_t), 2 * escapes) < 0) goto step_done;
            for (Py_ssize_t i = 0; i < c.n && status == 0; i++) {
                if (!escaped[i]) continue;
                int64_t raw = (int64_t)((uint64_t)coords[i * c.L + j] + (uint64_t)shift[i]);
                if (raw <= -(INT64_C(1) << 31) || raw >= (INT64_C(1) << 31)) {
                    status = -1; /* the caller's one-line range error */
                    break;
                }
                uint64_t value = (uint64_t)(raw + (INT64_C(1) << 31));
                encode_u16(s, words, value >> 16);
                encode_u16(s, words, value & 0xFFFF);
            }
        }
        ok = 1;
    step_done:
        release_condition(&c), release(&cdf);
        if (!ok) goto done;
    }
    result = PyLong_FromLongLong(status);
done:
    release(&st), release(&out), release(&sh), release(&es);
    return result;
}

/* The decoder's counterpart: decodes the coordinate's N symbols, writes coords[:, j] = symbol + low - shift for
   the rows that are not escapes, marks the escapes (1 in escaped_out) and keeps every row's shift for them.
   The slice starts (uint8 [Q*SLICES], or empty for a binary search) speed up finding each symbol.
   decode_coordinate(state, words, condition, j, low, cdf, K, starts, shift_out i64[N], escaped_out i64[N]) */
static PyObject *decode_coordinate(PyObject *self, PyObject *args) {
    PyObject *o_st, *o_words, *o_cond, *o_cdf, *o_starts, *o_sh, *o_esc, *result = NULL;
    Py_ssize_t j, k;
    long long low;
    condition_t c;
    buffer_t st = {0}, wd = {0}, cdf = {0}, starts = {0}, sh = {0}, es = {0};
    if (!PyArg_ParseTuple(args, "OOOnLOnOOO", &o_st, &o_words, &o_cond, &j, &low, &o_cdf, &k, &o_starts, &o_sh,
                          &o_esc))
        return NULL;
    if (parse_condition(o_cond, &c, 1) < 0 || get_buffer(o_st, &st, 1, 'u', "state") < 0 ||
        get_buffer(o_words, &wd, 0, 'w', "words") < 0 || get_buffer(o_cdf, &cdf, 0, 'w', "cdf") < 0 ||
        get_buffer(o_starts, &starts, 0, 'y', "starts") < 0 || get_buffer(o_sh, &sh, 1, 'i', "shift") < 0 ||
        get_buffer(o_esc, &es, 1, 'i', "escaped") < 0)
        goto done;
    if (COUNT(st, uint64_t) != D_SLOTS || k < 2 || j < 0 || j >= c.L || (j >= c.first && j < c.first + c.m) ||
        COUNT(sh, int64_t) != c.n || COUNT(es, int64_t) != c.n || COUNT(cdf, uint32_t) != c.buckets * (k + 1)) {
        PyErr_SetString(PyExc_ValueError, "decode_coordinate: inconsistent shapes");
        goto done;
    }
    const uint8_t *start = check_ends(&cdf, &starts, k, "decode_coordinate");
    if (start == (const uint8_t *)-1) goto done;
    uint64_t *s = (uint64_t *)st.view.buf;
    const uint32_t *words = (const uint32_t *)wd.view.buf, *table = (const uint32_t *)cdf.view.buf;
    uint64_t nwords = (uint64_t)COUNT(wd, uint32_t);
    int64_t *coords = (int64_t *)c.coords.view.buf, *shift = (int64_t *)sh.view.buf, *escaped = (int64_t *)es.view.buf;
    int64_t escapes = 0;
    for (Py_ssize_t i = 0; i < c.n; i++) {
        int64_t q, b;
        condition_at(&c, i, &q, &b);
        const uint32_t *cum = table + b * (k + 1);
        int64_t symbol = decode_one(s, words, nwords, cum, k, start ? start + b * SLICES : NULL);
        if (symbol < 0) {
            PyErr_SetString(PyExc_ValueError, "decode_coordinate: invalid compressed data");
            goto done;
        }
        shift[i] = q;
        int escape = symbol == k - 1;
        escaped[i] = escape;
        escapes += escape;
        if (!escape) coords[i * c.L + j] = (int64_t)((uint64_t)symbol + (uint64_t)low - (uint64_t)q);
    }
    result = PyLong_FromLongLong(escapes);
done:
    release_condition(&c), release(&st), release(&wd), release(&cdf), release(&starts), release(&sh), release(&es);
    return result;
}

/* ---- the distance code (ltccodec/coding/distance.py): every vector's 24-bit cumulative table ----
   Z_j = Σ_t s_jt·a_t − norm_j with a_t = 2·quad_t·diff_t + lin_t·scale (exact in doubles: the caller's bound),
   k_j = ((max Z − Z_j) >> 8) / scale, w_j = exp_table[k_j] (0 past its end), counts 1 + ⌊w_j·spread / Σw⌋ and the
   escape the rest of 2^24; the cumulatives ⌊C_s (2^24 − M) / 2^24⌋ + s of PmfTable at 24 bits. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__)
__attribute__((target_clones("avx2", "default")))
#endif
static void distance_scores(const double *a, Py_ssize_t L, const double *offsets_t, Py_ssize_t C, double *z) {
    for (Py_ssize_t j = 0; j < C; j++) z[j] = 0.0;
    for (Py_ssize_t t = 0; t < L; t++) {
        double v = a[t];
        const double *row = offsets_t + t * C;
        for (Py_ssize_t j = 0; j < C; j++) z[j] += v * row[j];
    }
}

/* distance_cdf(diff i64[n*L], offsets_t f64[L*C] (native offsets, transposed), norms i64[C] (scale·Σ quad·s²),
   quad i64[L], lin i64[L], scale, exp_table i64[T], reserve (the escape's floor), out u32[n*(C+2)]) */
static PyObject *distance_cdf(PyObject *self, PyObject *args) {
    PyObject *o_diff, *o_off, *o_norms, *o_quad, *o_lin, *o_exp, *o_out, *result = NULL;
    long long scale, reserve;
    buffer_t diff = {0}, off = {0}, norms = {0}, quad = {0}, lin = {0}, ex = {0}, out = {0};
    double *a = NULL, *z = NULL;
    int64_t *w = NULL, *padded = NULL, *share = NULL;
    if (!PyArg_ParseTuple(args, "OOOOOLOLO", &o_diff, &o_off, &o_norms, &o_quad, &o_lin, &scale, &o_exp, &reserve,
                          &o_out))
        return NULL;
    if (get_buffer(o_diff, &diff, 0, 'i', "diff") < 0 || get_buffer(o_off, &off, 0, 'd', "offsets") < 0 ||
        get_buffer(o_norms, &norms, 0, 'i', "norms") < 0 || get_buffer(o_quad, &quad, 0, 'i', "quad") < 0 ||
        get_buffer(o_lin, &lin, 0, 'i', "lin") < 0 || get_buffer(o_exp, &ex, 0, 'i', "exp_table") < 0 ||
        get_buffer(o_out, &out, 1, 'w', "out") < 0)
        goto done;
    Py_ssize_t L = COUNT(quad, int64_t), C = COUNT(norms, int64_t), T = COUNT(ex, int64_t);
    Py_ssize_t n = L > 0 ? COUNT(diff, int64_t) / L : 0, M = C + 1;
    if (L < 1 || C < 1 || T < 1 || COUNT(lin, int64_t) != L || COUNT(off, double) != L * C ||
        COUNT(diff, int64_t) != n * L || COUNT(out, uint32_t) != n * (M + 1) || scale < 1 || scale > (1LL << 40) ||
        reserve < 0 || reserve + M >= (long long)TOTAL) {
        PyErr_SetString(PyExc_ValueError, "distance_cdf: inconsistent shapes");
        goto done;
    }
    const int64_t *dd = (const int64_t *)diff.view.buf, *nm = (const int64_t *)norms.view.buf;
    const int64_t *qd = (const int64_t *)quad.view.buf, *ln = (const int64_t *)lin.view.buf;
    const int64_t *et = (const int64_t *)ex.view.buf;
    const double *ot = (const double *)off.view.buf;
    double reach = 0.0;
    for (Py_ssize_t t = 0; t < L * C; t++) reach = fabs(ot[t]) > reach ? fabs(ot[t]) : reach;
    a = malloc(sizeof(double) * (size_t)L);
    z = malloc(sizeof(double) * (size_t)C);
    w = malloc(sizeof(int64_t) * (size_t)C);
    padded = malloc(sizeof(int64_t) * (size_t)(T + 1));
    share = malloc(sizeof(int64_t) * (size_t)(T + 1));
    if (!a || !z || !w || !padded || !share) {
        PyErr_NoMemory();
        goto done;
    }
    memcpy(padded, et, sizeof(int64_t) * (size_t)T);
    padded[T] = 0;
    uint32_t *o = (uint32_t *)out.view.buf;
    int64_t spread = (int64_t)TOTAL - reserve - M, limit = (int64_t)T * scale;
    double inv_scale = 1.0 / (double)scale;
    int pow2 = (scale & (scale - 1)) == 0, shift = 0; /* SD's Q·a is a power of two: a shift divides exactly */
    while (pow2 && (INT64_C(1) << shift) < scale) shift++;
    for (Py_ssize_t i = 0; i < n; i++) {
        const int64_t *row = dd + i * L;
        double bound = 0.0;
        for (Py_ssize_t t = 0; t < L; t++) {
            /* a_t in doubles is exact below 2^53; so is every partial sum of s·a when Σ|a|·max|s| stays below it */
            double at = 2.0 * (double)qd[t] * (double)row[t] + (double)ln[t] * (double)scale;
            a[t] = at;
            bound += fabs(at);
        }
        if (!(bound * reach < 4503599627370496.0)) {
            PyErr_SetString(PyExc_ValueError, "distance_cdf: candidate scores out of range");
            goto done;
        }
        distance_scores(a, L, ot, C, z);
        int64_t top = INT64_MIN;
        for (Py_ssize_t j = 0; j < C; j++) {
            int64_t zj = (int64_t)z[j] - nm[j];
            w[j] = zj;
            top = zj > top ? zj : top;
        }
        int64_t total = 0;
        for (Py_ssize_t j = 0; j < C; j++) { /* w[j] becomes the step k_j (T past the table, where padded holds 0) */
            int64_t step = (top - w[j]) >> 8; /* ≥ 0; clamped at T·scale */
            step = step < limit ? step : limit;
            w[j] = pow2 ? step >> shift : floor_div(step, scale, inv_scale); /* pow2: the same, shifted */
            total += padded[w[j]];
        }
        if (total < 1) {
            PyErr_SetString(PyExc_ValueError, "distance_cdf: no candidate has weight");
            goto done;
        }
        uint32_t *c = o + i * (M + 1);
        int64_t before = 0, width = (int64_t)TOTAL - M;
        double inv_total = 1.0 / (double)total;
        for (Py_ssize_t t = 0; t <= T; t++) share[t] = 1 + floor_div(padded[t] * spread, total, inv_total);
        for (Py_ssize_t j = 0; j < C; j++) { /* a count per step, not per candidate: T + 1 divisions, not C */
            c[j] = (uint32_t)(((before * width) >> PRECISION) + j);
            before += share[w[j]];
        }
        c[C] = (uint32_t)(((before * width) >> PRECISION) + C); /* the escape: the rest of 2^24 */
        c[M] = (uint32_t)TOTAL;
    }
    result = Py_NewRef(Py_None);
done:
    free(a), free(z), free(w), free(padded), free(share);
    release(&diff), release(&off), release(&norms), release(&quad), release(&lin), release(&ex), release(&out);
    return result;
}

static PyMethodDef methods[] = {
    {"int_matmul", int_matmul, METH_VARARGS, "Integer matrix product, wrapping in 64 bits."},
    {"shift_bucket", shift_bucket, METH_VARARGS, "The box code's shift and phase bucket of one coordinate."},
    {"encode_box", encode_box, METH_VARARGS, "The box code of all coordinates: conditions, symbols, escapes."},
    {"decode_coordinate", decode_coordinate, METH_VARARGS, "One coordinate of the box code: condition and decoding."},
    {"round_parity", round_parity, METH_VARARGS, "D_n rounding: closest integer rows with a given sum parity."},
    {"nearest_e8", nearest_e8, METH_VARARGS, "Closest point of E8 (at twice its size) to each row."},
    {"distance_cdf", distance_cdf, METH_VARARGS, "The distance code's 24-bit cumulative table of each vector."},
    {"nearest_bw16", nearest_bw16, METH_VARARGS, "Closest point of Barnes-Wall BW16 (native frame) to each row."},
    {"nearest_leech", nearest_leech, METH_VARARGS, "Closest point of the Leech lattice (native frame) to each row."},
    {"check_tables", check_tables, METH_VARARGS, "The full checks of a cumulative table and its slice starts."},
    {"encode_categorical", encode_categorical, METH_VARARGS, "Range-code symbols against rows of a cdf table."},
    {"encode_uniform16", encode_uniform16, METH_VARARGS, "Range-code 16-bit values at probability 2^-16."},
    {"seal", seal, METH_VARARGS, "Append the closing words; returns the word count."},
    {"decode_categorical", decode_categorical, METH_VARARGS, "Decode symbols against rows of a cdf table."},
    {"decode_uniform16", decode_uniform16, METH_VARARGS, "Decode 16-bit values at probability 2^-16."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_kernels", "Compiled kernels of ltccodec.", -1, methods};

PyMODINIT_FUNC PyInit__kernels(void) {
    PyObject *m = PyModule_Create(&module);
    if (m && PyModule_AddIntConstant(m, "VERSION", KERNELS_VERSION) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
