//! H3 cells: where a device says it is. Asserted locations are resolution-12 cells (about
//! 307 m² each), the resolution Helium also uses for asserted locations.

use commonware_codec::{Buf, Error as CodecError, FixedSize, Read, ReadExt, Write};
use h3o::{CellIndex, Resolution};
use std::fmt;
use std::str::FromStr;

/// The H3 resolution of every asserted device location.
pub const LOCATION_RESOLUTION: u8 = 12;

/// Coarsest resolution a person may give a place at (cells of about 5 km²).
pub const MIN_PLACE_RESOLUTION: u8 = 7;
/// Finest: H3's own limit, about 1 m², finer than a GNSS fix.
pub const MAX_PLACE_RESOLUTION: u8 = 15;

/// Why a value is not an acceptable location cell.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CellError {
    #[error(
        "invalid H3 cell {text:?}: expected a hex index like 8c2a1072b59ffff or its decimal form"
    )]
    Malformed { text: String },
    #[error("{raw:#x} is not a valid H3 cell index")]
    NotACell { raw: u64 },
    #[error(
        "H3 cell {raw:#x} has resolution {found}, locations must be resolution {LOCATION_RESOLUTION}"
    )]
    WrongResolution { raw: u64, found: u8 },
    #[error(
        "H3 cell {raw:#x} has resolution {found}; a place is given as a cell of resolution {MIN_PLACE_RESOLUTION} to {MAX_PLACE_RESOLUTION}"
    )]
    PlaceResolution { raw: u64, found: u8 },
    #[error("latitude {lat} / longitude {lng} is not a place on Earth")]
    BadCoordinates { lat: f64, lng: f64 },
    #[error("latitude {lat} is out of range: it must be from -90 to 90 degrees")]
    LatitudeOutOfRange { lat: f64 },
    #[error("longitude {lng} is out of range: it must be from -180 to 180 degrees")]
    LongitudeOutOfRange { lng: f64 },
}

/// A validated resolution-12 H3 cell.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cell(CellIndex);

impl Cell {
    /// Accepts a raw H3 index only if it is a valid resolution-12 cell.
    pub fn new(raw: u64) -> Result<Self, CellError> {
        let cell = CellIndex::try_from(raw).map_err(|_| CellError::NotACell { raw })?;
        let found = u8::from(cell.resolution());
        if found != LOCATION_RESOLUTION {
            return Err(CellError::WrongResolution { raw, found });
        }
        Ok(Self(cell))
    }

    /// The cell containing a latitude/longitude in degrees. Used by clients and simulators to
    /// pick a cell; the state machine itself never touches floating point.
    /// Latitude must be within ±90 and longitude within ±180: anything else is a typo, not a
    /// place, and H3 would silently fold it onto another one.
    pub fn from_lat_lng(lat: f64, lng: f64) -> Result<Self, CellError> {
        if !(-90.0..=90.0).contains(&lat) {
            return Err(CellError::LatitudeOutOfRange { lat });
        }
        if !(-180.0..=180.0).contains(&lng) {
            return Err(CellError::LongitudeOutOfRange { lng });
        }
        let point =
            h3o::LatLng::new(lat, lng).map_err(|_| CellError::BadCoordinates { lat, lng })?;
        Ok(Self(point.to_cell(Resolution::Twelve)))
    }

    pub fn raw(self) -> u64 {
        u64::from(self.0)
    }

    /// The h3o view of this cell, for geometry.
    pub fn index(self) -> CellIndex {
        self.0
    }
}

impl fmt::Display for Cell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:x}", self.raw())
    }
}

impl fmt::Debug for Cell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cell({:x})", self.raw())
    }
}

/// Reads an H3 index of any resolution written as hex (`8c2a1072b59ffff`, optionally
/// `0x`-prefixed) or decimal (`631246145620214271`). A string of only decimal digits that is 18+
/// characters long is read as decimal, since no H3 index in hex is that long. Only the number
/// is read here; whether it is a valid cell is the caller's check.
pub fn parse_h3_index(text: &str) -> Option<u64> {
    let trimmed = text.trim();
    if let Some(hex) = trimmed.strip_prefix("0x") {
        u64::from_str_radix(hex, 16).ok()
    } else if trimmed.len() >= 18 && trimmed.bytes().all(|b| b.is_ascii_digit()) {
        trimmed.parse::<u64>().ok()
    } else {
        u64::from_str_radix(trimmed, 16).ok()
    }
}

/// A place as a person types it: an H3 cell of resolution 7 to 15. A GNSS fix is finer than
/// a location cell and an area coarser; each has one location cell ([`PlaceCell::location`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlaceCell(CellIndex);

impl PlaceCell {
    /// Accepts a raw H3 index of a valid cell of resolution 7 to 15.
    pub fn new(raw: u64) -> Result<Self, CellError> {
        let cell = CellIndex::try_from(raw).map_err(|_| CellError::NotACell { raw })?;
        let found = u8::from(cell.resolution());
        if !(MIN_PLACE_RESOLUTION..=MAX_PLACE_RESOLUTION).contains(&found) {
            return Err(CellError::PlaceResolution { raw, found });
        }
        Ok(Self(cell))
    }

    /// The cell as given, for measuring from its centre.
    pub fn index(self) -> CellIndex {
        self.0
    }

    pub fn resolution(self) -> u8 {
        u8::from(self.0.resolution())
    }

    /// Its location cell: the resolution-12 cell holding it when it is finer, the one at its
    /// centre when it is coarser (H3's centre child: integer arithmetic, no floats).
    pub fn location(self) -> Cell {
        let twelve = match self.0.parent(Resolution::Twelve) {
            Some(parent) => parent,
            None => self.0.center_child(Resolution::Twelve).unwrap_or(self.0),
        };
        // A valid cell of resolution 7..=15 always has a resolution-12 parent or centre child.
        Cell(twelve)
    }
}

impl fmt::Display for PlaceCell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:x}", u64::from(self.0))
    }
}

impl FromStr for PlaceCell {
    type Err = CellError;

    /// Hex or decimal, as for [`Cell`].
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let malformed = || CellError::Malformed {
            text: text.to_string(),
        };
        PlaceCell::new(parse_h3_index(text).ok_or_else(malformed)?)
    }
}

impl FromStr for Cell {
    type Err = CellError;

    /// Hex (`8c2a1072b59ffff`, optionally `0x`-prefixed) or decimal (`631246145620214271`).
    /// A string of only decimal digits that is 18+ characters long is read as decimal, since
    /// every res-12 index in hex is 15 characters.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let malformed = || CellError::Malformed {
            text: text.to_string(),
        };
        Cell::new(parse_h3_index(text).ok_or_else(malformed)?)
    }
}

impl Write for Cell {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        self.raw().write(buf);
    }
}

impl FixedSize for Cell {
    const SIZE: usize = 8;
}

impl Read for Cell {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let raw = u64::read(buf)?;
        Cell::new(raw).map_err(|_| CodecError::Invalid("Cell", "not a resolution-12 H3 cell"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinates_off_the_globe_are_refused_by_name() {
        // H3 would fold these onto other places (91° N onto 89° N, 200° E onto 160° W).
        assert_eq!(
            Cell::from_lat_lng(91.0, 13.4),
            Err(CellError::LatitudeOutOfRange { lat: 91.0 })
        );
        assert_eq!(
            Cell::from_lat_lng(-90.5, 13.4),
            Err(CellError::LatitudeOutOfRange { lat: -90.5 })
        );
        assert_eq!(
            Cell::from_lat_lng(52.5, 200.0),
            Err(CellError::LongitudeOutOfRange { lng: 200.0 })
        );
        assert!(Cell::from_lat_lng(f64::NAN, 0.0).is_err());
        assert!(Cell::from_lat_lng(90.0, -180.0).is_ok());
    }

    #[test]
    fn cells_parse_in_hex_and_decimal_and_check_resolution() {
        // The Eiffel Tower.
        let cell = Cell::from_lat_lng(48.8584, 2.2945).unwrap();
        assert_eq!(cell.to_string().parse::<Cell>(), Ok(cell));
        assert_eq!(cell.raw().to_string().parse::<Cell>(), Ok(cell));
        assert_eq!(format!("0x{cell}").parse::<Cell>(), Ok(cell));
        let parent = u64::from(cell.index().parent(Resolution::Eleven).unwrap());
        assert_eq!(
            Cell::new(parent),
            Err(CellError::WrongResolution {
                raw: parent,
                found: 11
            })
        );
        assert_eq!(Cell::new(0), Err(CellError::NotACell { raw: 0 }));
        assert!(matches!(
            "zz".parse::<Cell>(),
            Err(CellError::Malformed { .. })
        ));
    }

    #[test]
    fn places_of_resolution_7_to_15_have_one_location_cell() {
        let fix = h3o::LatLng::new(48.8584, 2.2945).unwrap();
        let location = Cell::from_lat_lng(48.8584, 2.2945).unwrap();
        // A GNSS fix at resolution 15 lies in its resolution-12 parent.
        let fine = PlaceCell::new(u64::from(fix.to_cell(Resolution::Fifteen))).unwrap();
        assert_eq!(fine.resolution(), 15);
        assert_eq!(fine.location(), location);
        assert_eq!(fine.to_string().parse::<PlaceCell>(), Ok(fine));
        // A resolution-12 cell is its own location.
        assert_eq!(PlaceCell::new(location.raw()).unwrap().location(), location);
        // A resolution-7 area: the resolution-12 cell at its centre, which lies inside it.
        let area_index = fix.to_cell(Resolution::Seven);
        let area = PlaceCell::new(u64::from(area_index)).unwrap();
        let centre = area.location();
        assert_eq!(centre.index().parent(Resolution::Seven), Some(area_index));
        assert_eq!(
            Some(centre.index()),
            area_index.center_child(Resolution::Twelve)
        );
        // Resolution 6 is too coarse to be a place.
        let six = u64::from(fix.to_cell(Resolution::Six));
        assert_eq!(
            PlaceCell::new(six),
            Err(CellError::PlaceResolution { raw: six, found: 6 })
        );
        assert_eq!(PlaceCell::new(0), Err(CellError::NotACell { raw: 0 }));
    }
}
