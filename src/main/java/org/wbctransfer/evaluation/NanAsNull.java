package org.wbctransfer.evaluation;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.deser.std.StdDeserializer;
import com.fasterxml.jackson.databind.ser.std.StdSerializer;
import java.io.IOException;

/**
 * Undefined metrics (e.g. ROC AUC of a class absent from the test set) are held as {@code NaN} in
 * memory, but NaN is not valid JSON and Jackson's default ("NaN" as a string) trips up most readers.
 * These map NaN to {@code null} on the way out and {@code null} back to NaN on the way in.
 */
final class NanAsNull {

    private NanAsNull() {}

    static final class Serializer extends StdSerializer<Double> {
        Serializer() {
            super(Double.class);
        }

        @Override
        public void serialize(Double value, JsonGenerator gen, SerializerProvider provider) throws IOException {
            if (value == null || value.isNaN() || value.isInfinite()) {
                gen.writeNull();
            } else {
                gen.writeNumber(value);
            }
        }
    }

    static final class Deserializer extends StdDeserializer<Double> {
        Deserializer() {
            super(Double.class);
        }

        @Override
        public Double deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
            JsonToken t = p.currentToken();
            if (t == JsonToken.VALUE_NUMBER_FLOAT || t == JsonToken.VALUE_NUMBER_INT) {
                return p.getDoubleValue();
            }
            if (t == JsonToken.VALUE_STRING) {
                // Tolerate files written by a mapper that used Jackson's default "NaN" strings.
                try {
                    return Double.parseDouble(p.getText().trim());
                } catch (NumberFormatException e) {
                    return (Double) ctxt.handleWeirdStringValue(Double.class, p.getText(), "not a number");
                }
            }
            return (Double) ctxt.handleUnexpectedToken(Double.class, p);
        }

        @Override
        public Double getNullValue(DeserializationContext ctxt) {
            return Double.NaN;
        }
    }
}
