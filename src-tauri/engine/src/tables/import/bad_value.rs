//! The value and column an arrow-csv parse error names, to tell it in words (and to tell a
//! missing-value marker from a bad value).

/// arrow-csv's "Error while parsing value 'NA' as type 'Int64' for column 3 at line 839", or
/// for a timestamp column "Error parsing column 3 at line 839: Parser error: Error parsing
/// timestamp from 'NA': …".
pub(super) struct BadValue {
    pub value: String,
    /// 0-based, as arrow-csv counts.
    pub column: usize,
}

impl BadValue {
    pub fn parse(message: &str) -> Option<BadValue> {
        BadValue::of_value(message).or_else(|| BadValue::of_timestamp(message))
    }

    fn of_value(message: &str) -> Option<BadValue> {
        let rest = message
            .find("Error while parsing value '")
            .map(|i| &message[i + "Error while parsing value '".len()..])?;
        let split = rest.find("' as type '")?;
        let value = rest[..split].to_string();
        let after = &rest[split..];
        let column = number_after(after, "for column ")?;
        Some(BadValue { value, column })
    }

    fn of_timestamp(message: &str) -> Option<BadValue> {
        let column = number_after(message, "Error parsing column ")?;
        const FROM: &str = "Error parsing timestamp from '";
        let rest = &message[message.find(FROM)? + FROM.len()..];
        let value = rest[..rest.rfind("': ")?].to_string();
        Some(BadValue { value, column })
    }
}

/// The whole number right after the first `label` in `message`.
fn number_after(message: &str, label: &str) -> Option<usize> {
    let at = message.find(label)? + label.len();
    message[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .ok()
}
