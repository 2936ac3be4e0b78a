/* Compiled kernels for the hot loops of ltccodec; optional, with a numpy/constriction path that defines them.

   The range coder here is constriction 0.5's queue coder (RangeEncoder<u32, u64>, models at 24-bit precision)
   re-implemented word for word: same state update, same carry handling ("inverted" words held back until the
   carry is known), same sealing. The tables it codes against are the left-cumulative rows that constriction's
   `Categorical(perfect=False)` makes from our dyadic pmfs (`tables.cdf24`). Tests check every word against
   constriction itself, including decoding of random (hostile) words.

   Calling convention: the Python side (`ltccodec/rangecoder.py`) passes C-contiguous buffers of the stated
   element types and keeps the coder state in a small uint64 array between calls. Every index read from a
   buffer is checked here; a violation raises ValueError and leaves the output unspecified. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define KERNELS_VERSION 1
#define PRECISION 24
#define TOTAL (UINT64_C(1) << PRECISION)
#define WORD_BITS 32

/* encoder state slots */
enum { E_LOWER, E_RANGE, E_INVERTED, E_FIRST_INVERTED, E_POS, E_SLOTS };
/* decoder state slots */
enum { D_LOWER, D_RANGE, D_POINT, D_POS, D_SLOTS };

typedef struct {
    Py_buffer view;
    int held;
} buffer_t;

static int get_buffer(PyObject *obj, buffer_t *b, int writable, Py_ssize_t itemsize, const char *what) {
    b->held = 0;
    if (PyObject_GetBuffer(obj, &b->view, writable ? PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS : PyBUF_C_CONTIGUOUS) < 0)
        return -1;
    b->held = 1;
    if (b->view.itemsize != itemsize || b->view.len % itemsize != 0) {
        PyErr_Format(PyExc_ValueError, "%s: expected %zd-byte elements", what, itemsize);
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
    if (get_buffer(o_st, &st, 1, 8, "state") < 0 || get_buffer(o_out, &out, 1, 4, "out") < 0 ||
        get_buffer(o_sym, &sym, 0, 8, "symbols") < 0 || get_buffer(o_rows, &rows, 0, 8, "rows") < 0 ||
        get_buffer(o_cdf, &cdf, 0, 4, "cdf") < 0)
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
    if (get_buffer(o_st, &st, 1, 8, "state") < 0 || get_buffer(o_out, &out, 1, 4, "out") < 0 ||
        get_buffer(o_val, &val, 0, 8, "values") < 0)
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
        encode_one(s, (uint32_t *)out.view.buf, (uint64_t)v[i] << (PRECISION - 16), UINT64_C(1) << (PRECISION - 16));
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
    if (get_buffer(o_st, &st, 1, 8, "state") < 0 || get_buffer(o_out, &out, 1, 4, "out") < 0) goto done;
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
    if (get_buffer(o_st, st, 1, 8, "state") < 0 || get_buffer(o_words, wd, 0, 4, "words") < 0) return -1;
    if (COUNT(*st, uint64_t) != D_SLOTS) {
        PyErr_Format(PyExc_ValueError, "%s: bad state", what);
        return -1;
    }
    return 0;
}

/* decode_categorical(state u64[4], words u32[], (symbols_out i64[n], rows i64[n], cdf u32[R*(K+1)], K)) */
static PyObject *decode_categorical(PyObject *self, PyObject *args) {
    buffer_t st = {0}, wd = {0}, sym = {0}, rows = {0}, cdf = {0};
    PyObject *rest, *o_sym, *o_rows, *o_cdf, *result = NULL;
    Py_ssize_t k;
    if (decoder_args(args, &st, &wd, &rest, "decode_categorical") < 0) goto done;
    if (!PyArg_ParseTuple(rest, "OOOn", &o_sym, &o_rows, &o_cdf, &k)) goto done;
    if (get_buffer(o_sym, &sym, 1, 8, "symbols") < 0 || get_buffer(o_rows, &rows, 0, 8, "rows") < 0 ||
        get_buffer(o_cdf, &cdf, 0, 4, "cdf") < 0)
        goto done;
    Py_ssize_t n = COUNT(sym, int64_t), stride = k + 1;
    if (COUNT(rows, int64_t) != n || k < 2 || COUNT(cdf, uint32_t) % stride) {
        PyErr_SetString(PyExc_ValueError, "decode_categorical: inconsistent shapes");
        goto done;
    }
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
        const uint32_t *c = table + r * stride;
        uint64_t scale = s[D_RANGE] >> PRECISION;
        uint64_t quantile = (s[D_POINT] - s[D_LOWER]) / scale;
        if (quantile >= TOTAL || c[0] != 0 || c[k] != TOTAL) {
            /* constriction's InvalidData; cannot happen at one precision with valid tables */
            PyErr_SetString(PyExc_ValueError, "decode_categorical: invalid compressed data");
            goto done;
        }
        /* the symbol x with c[x] <= quantile < c[x + 1] */
        Py_ssize_t lo = 0, hi = k;
        while (hi - lo > 1) {
            Py_ssize_t mid = (lo + hi) >> 1;
            if (c[mid] <= quantile) lo = mid;
            else hi = mid;
        }
        symbols[i] = lo;
        decode_update(s, words, nwords, scale, c[lo], (uint64_t)c[lo + 1] - c[lo]);
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
    if (get_buffer(o_val, &val, 1, 8, "values") < 0) goto done;
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

static PyMethodDef methods[] = {
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
