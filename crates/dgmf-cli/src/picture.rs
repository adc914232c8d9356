//! Pictures of predicted fields (`dgmf predict --png PREFIX`): people would rather look than read. Every
//! 2-D slice of the result (`[n, ..., H, W]`: one panel per query and channel) is drawn with one shared
//! colour scale (viridis) and a colour bar labelled with its minimum and maximum; 1-D fields (`H = 1`, e.g.
//! one Burgers slice per time) are stacked into one picture, a row per field. The scale is also stored as
//! PNG text chunks `dgmf.min`/`dgmf.max`, so a program can read the numbers back.

use std::path::Path;

use dgmf::ndarray::ArrayD;
use dgmf::Result;

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

/// A 3×5 pixel font for the colour-bar labels: digits, '-', '.', 'e', '+'.
fn glyph(c: char) -> [u8; 5] {
    match c {
        '0' => [7, 5, 5, 5, 7],
        '1' => [2, 6, 2, 2, 7],
        '2' => [7, 1, 7, 4, 7],
        '3' => [7, 1, 7, 1, 7],
        '4' => [5, 5, 7, 1, 1],
        '5' => [7, 4, 7, 1, 7],
        '6' => [7, 4, 7, 5, 7],
        '7' => [7, 1, 1, 1, 1],
        '8' => [7, 5, 7, 5, 7],
        '9' => [7, 5, 7, 1, 7],
        '-' => [0, 0, 7, 0, 0],
        '+' => [0, 2, 7, 2, 0],
        '.' => [0, 0, 0, 0, 2],
        'e' => [0, 7, 7, 4, 7],
        _ => [0; 5],
    }
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

    /// `text` at (x, y), each font pixel drawn `scale`×`scale`.
    fn text(&mut self, x: usize, y: usize, text: &str, scale: usize) {
        for (k, ch) in text.chars().enumerate() {
            for (row, bits) in glyph(ch).iter().enumerate() {
                for col in 0..3 {
                    if bits & (4 >> col) != 0 {
                        for dy in 0..scale {
                            for dx in 0..scale {
                                let px = x + (k * 4 + col) * scale + dx;
                                self.put(px, y + row * scale + dy, [0, 0, 0]);
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Panels of `field` (`[n, *shape]`): (rows, columns, values row-major) each.
fn panels(field: &ArrayD<f32>) -> Vec<(usize, usize, Vec<f32>)> {
    let dims = field.shape();
    let values: Vec<f32> = field.iter().copied().collect();
    let w = *dims.last().unwrap_or(&1);
    let h = if dims.len() >= 3 {
        dims[dims.len() - 2]
    } else {
        1
    };
    if h == 1 {
        // 1-D fields: one picture, a row per field.
        return vec![(values.len() / w.max(1), w, values)];
    }
    values.chunks(h * w).map(|c| (h, w, c.to_vec())).collect()
}

/// Writes the picture of `field` to `path` (atomically, like every output).
pub fn write_png(path: &Path, field: &ArrayD<f32>) -> Result<()> {
    let (lo, hi) = field
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    let stacked = field.ndim() < 3 || field.shape()[field.ndim() - 2] == 1;
    let panels = panels(field);
    // Panels up-scaled (nearest neighbour) to at least 128 pixels on their longer side with square pixels;
    // stacked 1-D fields get their rows stretched to 128 pixels in all. Laid out in a grid.
    let longest = panels.iter().map(|p| p.0.max(p.1)).max().unwrap_or(1);
    let zx = (128 / longest.max(1)).clamp(1, 64);
    let zy = if stacked {
        (128 / panels[0].0.max(1)).clamp(zx, 64)
    } else {
        zx
    };
    let per_row = (panels.len() as f64).sqrt().ceil().max(1.0) as usize;
    let (ph, pw) = (
        panels.iter().map(|p| p.0).max().unwrap_or(1) * zy,
        panels.iter().map(|p| p.1).max().unwrap_or(1) * zx,
    );
    let rows = panels.len().div_ceil(per_row);
    let (gap, bar_w, label_scale) = (8, 16, 2);
    let (lo_text, hi_text) = (format!("{lo:.3e}"), format!("{hi:.3e}"));
    let label_w = 4 * label_scale * lo_text.len().max(hi_text.len());
    let grid_w = per_row * (pw + gap) + gap;
    let grid_h = (rows * (ph + gap) + gap).max(128);
    let mut canvas = Canvas::new(grid_w + bar_w + gap + label_w + gap, grid_h);
    let span = if hi > lo { hi - lo } else { 1.0 };
    for (k, (h, w, values)) in panels.iter().enumerate() {
        let (x0, y0) = (
            gap + (k % per_row) * (pw + gap),
            gap + (k / per_row) * (ph + gap),
        );
        for y in 0..h * zy {
            for x in 0..w * zx {
                let v = values[(y / zy) * w + x / zx];
                canvas.put(x0 + x, y0 + y, colour((v - lo) / span));
            }
        }
    }
    // The colour bar: the maximum at the top.
    let (bx, by, bh) = (grid_w, gap, grid_h - 2 * gap);
    for y in 0..bh {
        let c = colour(1.0 - y as f32 / (bh - 1).max(1) as f32);
        for x in 0..bar_w {
            canvas.put(bx + x, by + y, c);
        }
    }
    let tx = bx + bar_w + gap / 2;
    canvas.text(tx, by, &hi_text, label_scale);
    canvas.text(tx, by + bh - 5 * label_scale, &lo_text, label_scale);

    write_atomically(path, |out| {
        let mut enc = png::Encoder::new(out, canvas.width as u32, canvas.height as u32);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let io = |e: png::EncodingError| std::io::Error::other(e.to_string());
        enc.add_text_chunk("dgmf.min".into(), format!("{lo:e}"))
            .map_err(io)?;
        enc.add_text_chunk("dgmf.max".into(), format!("{hi:e}"))
            .map_err(io)?;
        let mut w = enc.write_header().map_err(io)?;
        w.write_image_data(&canvas.rgb).map_err(io)?;
        w.finish().map_err(io)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn panels_follow_the_field_shape() {
        let f = ArrayD::<f32>::zeros(dgmf::ndarray::IxDyn(&[2, 3, 4, 5]));
        let p = panels(&f);
        assert_eq!(p.len(), 6);
        assert_eq!((p[0].0, p[0].1), (4, 5));
        let slices = ArrayD::<f32>::zeros(dgmf::ndarray::IxDyn(&[7, 1, 64]));
        let p = panels(&slices);
        assert_eq!(p.len(), 1);
        assert_eq!((p[0].0, p[0].1), (7, 64));
    }
}
