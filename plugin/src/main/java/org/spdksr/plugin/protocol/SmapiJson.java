package org.spdksr.plugin.protocol;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.ser.std.StdSerializer;
import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.RecordComponent;
import org.spdksr.plugin.idl.WireVariant;

/**
 * The JSON encoding of smapiv3.md §3.5: snake_case record fields, options omitted rather than
 * {@code null}, maps as objects, variants as {@code ["Name", arg]} or {@code "Name"}.
 */
public final class SmapiJson {

    private SmapiJson() {}

    /** A new mapper; callers keep their own so no mutable state is shared between them. */
    public static ObjectMapper newMapper() {
        SimpleModule variants = new SimpleModule("smapi-variants");
        variants.addSerializer(WireVariant.class, new VariantSerializer());
        return JsonMapper.builder()
                .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
                .serializationInclusion(JsonInclude.Include.NON_NULL)
                // Input records are matched case-insensitively and may carry extra fields (§3.5).
                .enable(MapperFeature.ACCEPT_CASE_INSENSITIVE_PROPERTIES)
                .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
                .addModule(variants)
                .build();
    }

    private static final class VariantSerializer extends StdSerializer<WireVariant> {
        private static final long serialVersionUID = 1L;

        VariantSerializer() {
            super(WireVariant.class);
        }

        @Override
        public void serialize(WireVariant value, JsonGenerator gen, SerializerProvider provider) throws IOException {
            Object argument = value.argument();
            if (argument == null) {
                gen.writeString(value.constructor());
                return;
            }
            gen.writeStartArray();
            gen.writeString(value.constructor());
            if (argument == value) {
                // A constructor whose argument is a record (XenDisk {…}): write the record's fields,
                // not the variant again.
                writeRecordFields(value, gen, provider);
            } else {
                provider.defaultSerializeValue(argument, gen);
            }
            gen.writeEndArray();
        }

        private static void writeRecordFields(Object record, JsonGenerator gen, SerializerProvider provider)
                throws IOException {
            if (!record.getClass().isRecord()) {
                throw new IllegalStateException(record.getClass() + " is its own variant argument but not a record");
            }
            gen.writeStartObject();
            for (RecordComponent component : record.getClass().getRecordComponents()) {
                Object fieldValue;
                try {
                    fieldValue = component.getAccessor().invoke(record);
                } catch (IllegalAccessException | InvocationTargetException e) {
                    throw new IOException("cannot read " + component.getName() + " of " + record.getClass(), e);
                }
                if (fieldValue == null) {
                    continue;
                }
                gen.writeFieldName(PropertyNamingStrategies.SnakeCaseStrategy.INSTANCE.translate(component.getName()));
                provider.defaultSerializeValue(fieldValue, gen);
            }
            gen.writeEndObject();
        }
    }
}
