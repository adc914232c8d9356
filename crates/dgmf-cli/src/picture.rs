//! Pictures of predicted fields (`dgmf predict --png PREFIX`): people would rather look than read.
//!
//! A picture says what it shows: a title (model, what the field is, fidelity), a caption per panel (the
//! query's parameters and coordinates), axes with their index ranges and a legend that states the
//! orientation, and one colour bar (viridis) labelled with its minimum, middle and maximum. Every 2-D slice
//! of the result (`[n, C, ..., H, W]`: a panel per query, channel and leading grid index) is drawn with node
//! (0, 0) at the lower left, the last axis `i` to the right and the one before it `j` upward, as a field
//! u(x_i, y_j) is plotted in physics. 1-D fields (`[n, C, W]`) are stacked, a row per query, query 0 at the
//! bottom. A second field of the same shape (a reference, or the error beside a std) can go beside each
//! panel on the same colour scale.
//!
//! The scale and the panels' places are stored as PNG text chunks (`dgmf.min`, `dgmf.max`, `dgmf.panels`,
//! `dgmf.beside`: `x,y,width,height` per panel, `;`-separated), so a program can read the picture back.

use std::path::Path;

use dgmf::ndarray::ArrayD;
use dgmf::Result;
use font8x8::UnicodeFonts;

use crate::npy::write_atomically;

/// viridis at ten evenly spaced points (matplotlib's colour map, perceptually uniform, colour-blind safe).
const VIRIDIS: [[u8; 3]; 10] = [
    [0x44, 0x01, 0x54],
    [0x48, 0x28, 0x78],
    [0x3e, 0x49, 0x89],
    [0x31, 0x68, 0x8e],
    [0x26, 0x82, 0x8e],
    [0x1f, 0x9e, 0x89],
    [0x35, 0xb7, 0x79],
    [0x6e, 0xce, 0x58],
    [0xb5, 0xde, 0x2b],
    [0xfd, 0xe7, 0x25],
];

/// The colour of `t` in [0, 1] (linear between the table's points).
pub fn colour(t: f32) -> [u8; 3] {
    let t = if t.is_nan() { 0.0 } else { t };
    let x = t.clamp(0.0, 1.0) * (VIRIDIS.len() - 1) as f32;
    let i = (x.floor() as usize).min(VIRIDIS.len() - 2);
    let f = x - i as f32;
    let (a, b) = (VIRIDIS[i], VIRIDIS[i + 1]);
    std::array::from_fn(|k| (a[k] as f32 + f * (b[k] as f32 - a[k] as f32)).round() as u8)
}

/// Pixels per character cell and per text line (font8x8: 8×8 glyphs).
const CHAR: usize = 8;
const LINE: usize = 11;
/// Space between panels and around the picture.
const GAP: usize = 12;
/// Fields drawn at most; a larger result is cut, and its title says so (a picture of thousands of
/// panels helps nobody and could exhaust memory).
pub const MAX_PANELS: usize = 64;
/// Pixels on a panel's side at most (a larger grid is shown by every k-th node; the .npy has them all).
const MAX_SIDE: usize = 1024;

/// The 8×8 glyph of `c` (ASCII, Latin-1 and Greek, so σ and ε in parameter names show); `?` otherwise.
fn glyph(c: char) -> [u8; 8] {
    font8x8::BASIC_FONTS
        .get(c)
        .or_else(|| font8x8::LATIN_FONTS.get(c))
        .or_else(|| font8x8::GREEK_FONTS.get(c))
        .or_else(|| font8x8::BASIC_FONTS.get('?'))
        .unwrap_or([0; 8])
}

fn text_width(text: &str) -> usize {
    text.chars().count() * CHAR
}

/// `text` cut into lines of at most `width` pixels, at spaces where it can.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let max = (width / CHAR).max(1);
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let mut word: Vec<char> = word.chars().collect();
        while !word.is_empty() {
            let used = line.chars().count();
            let room = if used == 0 {
                max
            } else {
                max.saturating_sub(used + 1)
            };
            if word.len() <= room {
                if used > 0 {
                    line.push(' ');
                }
                line.extend(word.drain(..));
            } else if used > 0 {
                lines.push(std::mem::take(&mut line));
            } else {
                lines.push(word.drain(..max).collect());
            }
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// An RGB canvas.
struct Canvas {
    width: usize,
    height: usize,
    rgb: Vec<u8>,
}

impl Canvas {
    fn new(width: usize, height: usize) -> Canvas {
        Canvas {
            width,
            height,
            rgb: vec![255; width * height * 3],
        }
    }

    fn put(&mut self, x: usize, y: usize, c: [u8; 3]) {
        if x < self.width && y < self.height {
            let i = (y * self.width + x) * 3;
            self.rgb[i..i + 3].copy_from_slice(&c);
        }
    }

    /// `text` with its top-left corner at (x, y), in black.
    fn text(&mut self, x: usize, y: usize, text: &str) {
        for (k, ch) in text.chars().enumerate() {
            for (row, bits) in glyph(ch).iter().enumerate() {
                for col in 0..CHAR {
                    if bits & (1 << col) != 0 {
                        self.put(x + k * CHAR + col, y + row, [0, 0, 0]);
                    }
                }
            }
        }
    }

    /// `text` ending at x (right-aligned).
    fn text_right(&mut self, x: usize, y: usize, text: &str) {
        self.text(x.saturating_sub(text_width(text)), y, text);
    }
}

/// What a picture shows besides the field's values.
pub struct Figure<'a> {
    /// Title lines, e.g. the model, what the field is, the fidelity.
    pub title: Vec<String>,
    /// Per-sample dims of the field, `[C, *grid]` (the model's `dgmf.shape`).
    pub sample_shape: &'a [usize],
    /// One caption per query (its parameters and coordinates) for 2-D panels.
    pub captions: Vec<String>,
    /// The caption of a stacked 1-D picture (what its rows are).
    pub rows_caption: String,
    /// What the colour bar measures, e.g. `u` or `std`.
    pub quantity: String,
    /// A second field of the field's shape drawn beside each panel on the same scale, with the labels of
    /// the two panels (e.g. `mean` and `reference`).
    pub beside: Option<Beside<'a>>,
}

/// The second field of a [`Figure`] and the two panels' labels.
pub struct Beside<'a> {
    pub field: &'a ArrayD<f32>,
    pub labels: [String; 2],
}

/// One panel: a `rows × cols` slice (row-major, row 0 drawn at the bottom) and its caption.
struct Panel {
    rows: usize,
    cols: usize,
    values: Vec<f32>,
    caption: String,
}

/// The first `max` panels of `field` (`[n, C, *grid]` with `sample_shape = [C, *grid]`), and how many it
/// has: for a 1-D grid one stacked panel per channel (a row per query); otherwise one per query, channel
/// and leading grid index. Only the panels drawn are copied out of the field.
fn panels(field: &ArrayD<f32>, fig: &Figure, max: usize) -> (Vec<Panel>, usize) {
    let owned: Vec<f32>;
    let values = match field.as_slice_memory_order() {
        Some(v) => v,
        None => {
            owned = field.iter().copied().collect();
            &owned
        }
    };
    let (channels, grid) = match fig.sample_shape.split_first() {
        Some((&c, grid)) if c > 0 => (c, grid),
        _ => (1, &[][..]),
    };
    let per_sample: usize = fig.sample_shape.iter().product::<usize>().max(1);
    let n = values.len() / per_sample;
    let channel_note = |c: usize| {
        if channels > 1 {
            format!("channel {c}")
        } else {
            String::new()
        }
    };
    if grid.len() <= 1 {
        let w = grid.first().copied().unwrap_or(1).max(1);
        let stacked = (0..channels.min(max))
            .map(|c| Panel {
                rows: n,
                cols: w,
                values: (0..n)
                    .flat_map(|q| values[q * per_sample + c * w..][..w].iter().copied())
                    .collect(),
                caption: [fig.rows_caption.clone(), channel_note(c)]
                    .join(" ")
                    .trim()
                    .into(),
            })
            .collect();
        return (stacked, channels);
    }
    let (h, w) = (grid[grid.len() - 2], grid[grid.len() - 1]);
    let slices = per_sample / channels / (h * w).max(1);
    let mut out = Vec::new();
    let chunks = values.chunks_exact((h * w).max(1));
    let total = chunks.len();
    for (k, chunk) in chunks.take(max).enumerate() {
        let (q, c, s) = (k / (channels * slices), (k / slices) % channels, k % slices);
        let mut caption = fig.captions.get(q).cloned().unwrap_or_default();
        for note in [
            channel_note(c),
            if slices > 1 {
                format!("slice {s}")
            } else {
                String::new()
            },
        ] {
            if !note.is_empty() {
                caption = format!("{caption} {note}").trim().into();
            }
        }
        out.push(Panel {
            rows: h,
            cols: w,
            values: chunk.to_vec(),
            caption,
        });
    }
    (out, total)
}

/// Writes the picture of `field` to `path` (atomically, like every output).
pub fn write_png(path: &Path, field: &ArrayD<f32>, fig: &Figure) -> Result<()> {
    let Drawn { image, chunks } = draw(field, fig);
    write_atomically(path, |out| {
        let mut enc = png::Encoder::new(out, image.width as u32, image.height as u32);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let io = |e: png::EncodingError| std::io::Error::other(e.to_string());
        for (key, value) in &chunks {
            enc.add_text_chunk(key.to_string(), value.clone())
                .map_err(io)?;
        }
        let mut w = enc.write_header().map_err(io)?;
        w.write_image_data(&image.rgb).map_err(io)?;
        w.finish().map_err(io)
    })
}

/// A drawn picture and the text chunks that describe it.
struct Drawn {
    image: Canvas,
    chunks: Vec<(&'static str, String)>,
}

fn rects(r: &[[usize; 4]]) -> String {
    r.iter()
        .map(|[x, y, w, h]| format!("{x},{y},{w},{h}"))
        .collect::<Vec<_>>()
        .join(";")
}

fn draw(field: &ArrayD<f32>, fig: &Figure) -> Drawn {
    let (main, total) = panels(field, fig, MAX_PANELS);
    let other = fig
        .beside
        .as_ref()
        .map(|b| panels(b.field, fig, MAX_PANELS).0);
    let stacked = fig.sample_shape.len() <= 2;
    let finite = |p: &Vec<Panel>| {
        p.iter()
            .flat_map(|p| p.values.iter().copied())
            .filter(|v| v.is_finite())
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(v), hi.max(v))
            })
    };
    let (mut lo, mut hi) = finite(&main);
    if let Some(o) = &other {
        let (a, b) = finite(o);
        (lo, hi) = (lo.min(a), hi.max(b));
    }
    if lo > hi {
        (lo, hi) = (0.0, 0.0); // nothing finite to scale by
    }
    let span = if hi > lo { hi - lo } else { 1.0 };

    // Panels scaled (nearest neighbour) to at least 160 pixels on their longer side with square pixels,
    // and to at most MAX_SIDE on either; a stacked picture gets its rows stretched to at least 160 pixels.
    let (max_rows, max_cols) = (
        main.iter().map(|p| p.rows).max().unwrap_or(1).max(1),
        main.iter().map(|p| p.cols).max().unwrap_or(1).max(1),
    );
    let zx = 160usize.div_ceil(max_rows.max(max_cols)).clamp(1, 64);
    let zy = if stacked {
        160usize.div_ceil(max_rows).clamp(zx, 64)
    } else {
        zx
    };
    let (ph, pw) = ((max_rows * zy).min(MAX_SIDE), (max_cols * zx).min(MAX_SIDE));
    let pair = other.is_some();
    // Tick labels are the largest index on each axis.
    let left = GAP + CHAR + 4 + text_width(&max_rows.saturating_sub(1).to_string()).max(CHAR) + 4;
    let group_w = if pair { 2 * pw + GAP } else { pw };
    let cell_w = left + group_w;
    let caption_lines = main
        .iter()
        .map(|p| wrap(&p.caption, group_w).len())
        .max()
        .unwrap_or(0)
        + usize::from(pair);
    let cell_h = caption_lines * LINE + ph + 4 + LINE + GAP;
    let per_row = ((main.len() as f64).sqrt().ceil() as usize)
        .clamp(1, (1600 / cell_w).max(1))
        .min(main.len().max(1));
    let grid_rows = main.len().div_ceil(per_row).max(1);

    let mut title = fig.title.clone();
    if total > main.len() {
        title.push(format!(
            "the first {} of {total} panels (dgmf draws at most {MAX_PANELS}; the .npy outputs hold all)",
            main.len()
        ));
    }
    let legend = if stacked {
        "a row per field, field 0 at the bottom; i (last axis) to the right".to_string()
    } else {
        "u[..., j, i]: i (last axis) to the right, j (the one before) upward; node (0, 0) at the lower left"
            .to_string()
    };
    let (hi_text, mid_text, lo_text) = (
        format!("{hi:.4e}"),
        format!("{:.4e}", lo + 0.5 * (hi - lo)),
        format!("{lo:.4e}"),
    );
    let bar_area = GAP
        + 16
        + 4
        + [&hi_text, &mid_text, &lo_text, &fig.quantity]
            .iter()
            .map(|t| text_width(t))
            .max()
            .unwrap_or(0)
        + GAP;
    let grid_w = per_row * cell_w;
    let width = [
        grid_w + bar_area,
        title.iter().map(|t| text_width(t)).max().unwrap_or(0) + 2 * GAP,
        text_width(&legend) + 2 * GAP,
    ]
    .into_iter()
    .max()
    .unwrap_or(1);
    let top = GAP + title.len() * LINE + GAP / 2;
    let grid_h = grid_rows * cell_h;
    let height = top + grid_h + LINE + GAP;
    let mut image = Canvas::new(width, height);

    for (k, line) in title.iter().enumerate() {
        image.text(GAP, GAP + k * LINE, line);
    }
    let (mut placed, mut placed_beside) = (Vec::new(), Vec::new());
    for (k, p) in main.iter().enumerate() {
        let (cx, cy) = ((k % per_row) * cell_w, top + (k / per_row) * cell_h);
        let x0 = cx + left;
        for (l, line) in wrap(&p.caption, group_w).iter().enumerate() {
            image.text(x0, cy + l * LINE, line);
        }
        let y0 = cy + caption_lines * LINE;
        let draw_panel = |image: &mut Canvas, p: &Panel, x0: usize| {
            // Row 0 at the bottom; each pixel shows the node it falls on.
            for y in 0..ph {
                let row = p.rows - 1 - y * p.rows / ph;
                for x in 0..pw {
                    let v = p.values[row * p.cols + x * p.cols / pw];
                    image.put(x0 + x, y0 + y, colour((v - lo) / span));
                }
            }
            // x axis: the first and last index, and the axis' name.
            let below = y0 + ph + 4;
            image.text(x0, below, "0");
            image.text_right(x0 + pw, below, &(p.cols - 1).to_string());
            let name = "i ->";
            image.text(x0 + pw.saturating_sub(text_width(name)) / 2, below, name);
            [x0, y0, pw, ph]
        };
        placed.push(draw_panel(&mut image, p, x0));
        // y axis on the left of the first panel of the group.
        image.text_right(x0 - 4, y0, &(p.rows - 1).to_string());
        image.text_right(x0 - 4, y0 + ph - CHAR, "0");
        let mid = y0 + ph / 2;
        let axis = if stacked { "k" } else { "j" };
        image.text(x0 - 4 - CHAR - 4 - CHAR, mid.saturating_sub(LINE), "^");
        image.text(x0 - 4 - CHAR - 4 - CHAR, mid, axis);
        if let (Some(o), Some(b)) = (other.as_ref(), fig.beside.as_ref()) {
            let xb = x0 + pw + GAP;
            image.text(x0, y0 - LINE, &b.labels[0]);
            image.text(xb, y0 - LINE, &b.labels[1]);
            placed_beside.push(draw_panel(&mut image, &o[k], xb));
        }
    }
    // The colour bar beside the panels, the maximum at the top.
    let (bx, by) = (grid_w + GAP, top + LINE);
    let bh = (grid_h.saturating_sub(2 * LINE + GAP)).max(3 * LINE);
    image.text(bx, top, &fig.quantity);
    for y in 0..bh {
        let c = colour(1.0 - y as f32 / (bh - 1).max(1) as f32);
        for x in 0..16 {
            image.put(bx + x, by + y, c);
        }
    }
    let tx = bx + 16 + 4;
    image.text(tx, by, &hi_text);
    image.text(tx, by + bh / 2 - CHAR / 2, &mid_text);
    image.text(tx, by + bh - CHAR, &lo_text);
    image.text(GAP, top + grid_h, &legend);

    let mut chunks = vec![
        ("dgmf.min", format!("{lo:e}")),
        ("dgmf.max", format!("{hi:e}")),
        ("dgmf.panels", rects(&placed)),
        ("dgmf.origin", "lower-left".to_string()),
    ];
    if pair {
        chunks.push(("dgmf.beside", rects(&placed_beside)));
    }
    Drawn { image, chunks }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dgmf::ndarray::IxDyn;

    fn figure(shape: &[usize]) -> Figure<'_> {
        Figure {
            title: vec!["t".into()],
            sample_shape: shape,
            captions: (0..4).map(|q| format!("query {q}")).collect(),
            rows_caption: "rows".into(),
            quantity: "u".into(),
            beside: None,
        }
    }

    #[test]
    fn the_colour_map_runs_from_dark_violet_to_yellow() {
        assert_eq!(colour(0.0), VIRIDIS[0]);
        assert_eq!(colour(1.0), VIRIDIS[9]);
        assert_eq!(colour(-5.0), VIRIDIS[0]);
        assert_eq!(colour(f32::NAN), VIRIDIS[0]);
        // Brightness grows along the map.
        let lum = |c: [u8; 3]| 0.3 * c[0] as f32 + 0.59 * c[1] as f32 + 0.11 * c[2] as f32;
        assert!((1..=10).all(|i| lum(colour(i as f32 / 10.0)) > lum(colour((i - 1) as f32 / 10.0))));
    }

    #[test]
    fn panels_follow_the_sample_shape() {
        // 2 queries, 3 channels of 4×5: a panel per query and channel, captioned with both.
        let f = ArrayD::<f32>::zeros(IxDyn(&[2, 3, 4, 5]));
        let (p, total) = panels(&f, &figure(&[3, 4, 5]), MAX_PANELS);
        assert_eq!(total, 6);
        assert_eq!(p.len(), 6);
        assert_eq!((p[0].rows, p[0].cols), (4, 5));
        assert_eq!(p[4].caption, "query 1 channel 1");
        // 7 one-channel 1-D fields: one stacked panel, a row per query.
        let slices = ArrayD::<f32>::zeros(IxDyn(&[7, 1, 64]));
        let (p, _) = panels(&slices, &figure(&[1, 64]), MAX_PANELS);
        assert_eq!(p.len(), 1);
        assert_eq!((p[0].rows, p[0].cols), (7, 64));
        // Two channels of a 1-D field are two stacked panels, not one 2×64 image.
        let mut two = ArrayD::<f32>::zeros(IxDyn(&[3, 2, 64]));
        two[[1, 1, 5]] = 1.0;
        let (p, _) = panels(&two, &figure(&[2, 64]), MAX_PANELS);
        assert_eq!(p.len(), 2);
        assert_eq!((p[1].rows, p[1].cols), (3, 64));
        assert_eq!(p[1].values[64 + 5], 1.0);
        assert_eq!(p[0].values.iter().sum::<f32>(), 0.0);
    }

    #[test]
    fn captions_wrap_at_spaces_and_cut_long_words() {
        assert_eq!(wrap("eps=0.1 theta=2", 10 * CHAR), ["eps=0.1", "theta=2"]);
        assert_eq!(wrap("abcdefghijkl", 5 * CHAR), ["abcde", "fghij", "kl"]);
        assert!(wrap("", 80).is_empty());
    }

    #[test]
    fn node_0_0_is_drawn_at_the_lower_left_of_its_panel() {
        let mut f = ArrayD::<f32>::zeros(IxDyn(&[1, 1, 3, 4]));
        f[[0, 0, 0, 0]] = 1.0; // node (j, i) = (0, 0)
        f[[0, 0, 2, 3]] = 0.5; // the last node
        let d = draw(&f, &figure(&[1, 3, 4]));
        let r: Vec<usize> = d.chunks[2]
            .1
            .split(',')
            .map(|v| v.parse().unwrap())
            .collect();
        let px = |x: usize, y: usize| {
            let i = (y * d.image.width + x) * 3;
            [d.image.rgb[i], d.image.rgb[i + 1], d.image.rgb[i + 2]]
        };
        let (x, y, w, h) = (r[0], r[1], r[2], r[3]);
        assert_eq!(px(x, y + h - 1), colour(1.0));
        assert_eq!(px(x + w - 1, y), colour(0.5));
        assert_eq!(px(x + w - 1, y + h - 1), colour(0.0));
    }

    #[test]
    fn a_large_result_draws_a_bounded_picture() {
        let f = ArrayD::<f32>::zeros(IxDyn(&[1000, 1, 8, 8]));
        let d = draw(&f, &figure(&[1, 8, 8]));
        assert_eq!(d.chunks[2].1.split(';').count(), MAX_PANELS);
        let (w, h) = (d.image.width, d.image.height);
        assert!(w * h < 4_000_000, "{w}x{h}");
        // Non-finite values neither panic nor set the scale.
        let mut g = ArrayD::<f32>::from_elem(IxDyn(&[1, 1, 2, 2]), 2.0);
        g[[0, 0, 0, 0]] = f32::NAN;
        g[[0, 0, 1, 1]] = f32::INFINITY;
        let d = draw(&g, &figure(&[1, 2, 2]));
        assert_eq!(
            (d.chunks[0].1.as_str(), d.chunks[1].1.as_str()),
            ("2e0", "2e0")
        );
    }
}
